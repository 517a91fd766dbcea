#pragma once
#include "esp32_api.h"
