#pragma once
#include "esp32_ota_api.h"
