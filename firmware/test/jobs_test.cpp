// The firmware's AWS IoT Jobs client (lib/iotcore/jobs.h), pure parts and
// through Core with a recording port and an updater that keeps what it was
// given. The real SHA-256 (OpenSSL), HTTPS and exec are fw-host's, run end
// to end by firmware_ota_test.go; here a toy hash stands in, so that these
// tests also run as the 32-bit build, which has no OpenSSL.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "../lib/iotcore/core.h"
#include "../lib/iotcore/jobs.h"
#include "recording_port.h"

using iotcore::Owned;

namespace {

// ToyHash mixes every byte into 32 bytes; only its determinism matters.
class ToyHash : public iotcore::Sha256 {
 public:
  void Begin() override { memset(state_, 0, sizeof state_), n_ = 0; }
  void Update(const uint8_t* data, size_t len) override {
    for (size_t i = 0; i < len; i++, n_++) {
      state_[n_ % 32] = static_cast<uint8_t>(state_[n_ % 32] * 31 + data[i] + 1);
    }
  }
  void Finish(uint8_t digest[32]) override { memcpy(digest, state_, 32); }

 private:
  uint8_t state_[32] = {};
  size_t n_ = 0;
};

std::string ToyHex(const std::string& data) {
  ToyHash h;
  h.Begin();
  h.Update(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  uint8_t d[32];
  h.Finish(d);
  std::string hex;
  char two[3];
  for (uint8_t b : d) snprintf(two, sizeof two, "%02x", b), hex += two;
  return hex;
}

// FakeUpdater serves images by URL in chunks and keeps what was written.
class FakeUpdater : public iotcore::Updater {
 public:
  uint32_t Capacity() override { return 1 << 20; }
  iotcore::Sha256& Hash() override { return hash; }
  bool Download(const char* url, iotcore::ImageSink& sink, char* error, size_t len) override {
    downloads++;
    if (images.count(url) == 0) {
      snprintf(error, len, "the server answered HTTP/1.1 404 Not Found");
      return false;
    }
    const std::string& image = images[url];
    for (size_t at = 0; at < image.size(); at += chunk) {
      size_t n = std::min(chunk, image.size() - at);
      if (!sink.Take(reinterpret_cast<const uint8_t*>(image.data() + at), n)) return false;
    }
    return true;
  }
  bool Open(uint32_t size, char*, size_t) override {
    opened = size;
    written.clear();
    return true;
  }
  bool Write(const uint8_t* data, size_t len, char* error, size_t errorLen) override {
    if (failWrites) {
      snprintf(error, errorLen, "flash write failed");
      return false;
    }
    written.append(reinterpret_cast<const char*>(data), len);
    return true;
  }
  bool Close(char*, size_t) override { return ++closed, true; }
  void Abort() override { aborted++; }
  // Reboot returns, as a board's does only when it could not restart.
  void Reboot() override {
    reboots++;
    publishedAtReboot = port->published.size();
  }

  ToyHash hash;
  std::map<std::string, std::string> images;
  size_t chunk = 1000;
  bool failWrites = false;
  uint32_t opened = 0;
  std::string written;
  int downloads = 0, closed = 0, aborted = 0, reboots = 0;
  RecordingPort* port = nullptr;
  size_t publishedAtReboot = 0;
};

const char* kUrl = "https://files.example/fw-2.bin";

std::string OtaDoc(const std::string& image, const char* version = "fw-2") {
  return std::string(R"({"operation":"ota","version":")") + version + R"(","url":")" + kUrl +
         R"(","sha256":")" + ToyHex(image) + R"(","size":)" + std::to_string(image.size()) + "}";
}

std::string Execution(const char* jobId, const std::string& doc, const char* details = "{}") {
  return std::string(R"({"execution":{"jobId":")") + jobId +
         R"(","thingName":"pico-01","status":"IN_PROGRESS","statusDetails":)" + details +
         R"(,"versionNumber":2,"executionNumber":1,"jobDocument":)" + doc + "},\"timestamp\":1}";
}

struct Device {
  RecordingPort port;
  FakeUpdater updater;
  iotcore::Settings settings;
  iotcore::Core core;

  explicit Device(const char* fw = "fw-1", bool withUpdater = true)
      : core(port, Settings(fw, withUpdater ? &updater : nullptr)) {
    REQUIRE(core.Begin());
    updater.port = &port;
  }

  static iotcore::Settings Settings(const char* fw, iotcore::Updater* u) {
    iotcore::Settings s;
    s.thing = "pico-01";
    s.id.fw = fw;
    s.updater = u;
    return s;
  }
  void Receive(const std::string& topic, const std::string& payload) {
    core.OnMessage(topic.c_str(), payload.data(), payload.size(), 1000);
  }
  // Hand gives the device an execution as start-next's answer and runs its
  // loop once.
  void Hand(const std::string& execution) {
    Receive(Jobs("start-next/accepted"), execution);
    core.Poll(1000);
  }
  std::string Jobs(const char* rest) const { return std::string("$aws/things/pico-01/jobs/") + rest; }

  // Updates are the job update requests published, as "STATUS k=v k=v".
  std::vector<std::string> Updates(const char* jobId) const {
    std::vector<std::string> out;
    std::string topic = Jobs(jobId) + "/update";
    for (const auto& p : port.published) {
      if (p.topic != topic) continue;
      Owned doc(cJSON_Parse(p.payload.c_str()));
      std::string line = cJSON_GetObjectItem(doc.get(), "status")->valuestring;
      const cJSON* d = cJSON_GetObjectItem(doc.get(), "statusDetails");
      for (const cJSON* kv = d->child; kv != nullptr; kv = kv->next) {
        line += std::string(" ") + kv->string + "=" + kv->valuestring;
      }
      out.push_back(line);
    }
    return out;
  }
  size_t StartNexts() const {
    size_t n = 0;
    for (const auto& p : port.published) n += p.topic == Jobs("start-next");
    return n;
  }
};

}  // namespace

TEST_CASE("job documents: an ota the device can act on, or the reason it rejects the job") {
  const std::string sum(64, 'a');
  struct {
    const char* doc;
    const char* reason;  // "" when taken
  } cases[] = {
      {R"({"operation":"ota","version":"v2","url":"https://h/x","sha256":"SUM","size":10})", ""},
      {R"({"operation":"factory-reset"})", R"(unknown operation "factory-reset" (this firmware runs "ota"))"},
      {R"({"version":"v2"})", R"(unknown operation "" (this firmware runs "ota"))"},
      {R"({"operation":"ota","url":"https://h/x","sha256":"SUM","size":10})", "an ota job needs version and url"},
      {R"({"operation":"ota","version":"v2","sha256":"SUM","size":10})", "an ota job needs version and url"},
      {R"({"operation":"ota","version":"v2","url":"http://h/x","sha256":"SUM","size":10})", "the image url must be https:// (the device checks the server)"},
      {R"({"operation":"ota","version":"v2","url":"https://h/x","sha256":"abc","size":10})", "an ota job needs the image's sha256 (64 lower-case hex digits)"},
      {R"({"operation":"ota","version":"v2","url":"https://h/x","sha256":"SUM","size":0})", "image size 0: give 1 to 1048576 bytes"},
      {R"({"operation":"ota","version":"v2","url":"https://h/x","sha256":"SUM","size":-5})", "image size -5: give 1 to 1048576 bytes"},
      {R"({"operation":"ota","version":"v2","url":"https://h/x","sha256":"SUM","size":1.5})", "image size 2: give 1 to 1048576 bytes"},
      {R"({"operation":"ota","version":"v2","url":"https://h/x","sha256":"SUM","size":1048577})", "image size 1048577: give 1 to 1048576 bytes"},
      {R"({"operation":"ota","version":"v2","url":"https://h/x","sha256":"SUM","size":"10"})", "image size 0: give 1 to 1048576 bytes"},
      {R"({"operation":"ota","version":"v2","url":"https://h/x","sha256":"SUM"})", "image size 0: give 1 to 1048576 bytes"},
      {R"([1])", "the job document is not a JSON object"},
  };
  for (const auto& c : cases) {
    std::string text = c.doc;
    size_t at = text.find("SUM");
    if (at != std::string::npos) text.replace(at, 3, sum);
    CAPTURE(text);
    Owned doc(cJSON_Parse(text.c_str()));
    iotcore::OtaJob ota;
    char reason[256] = "";
    bool ok = iotcore::ParseJobDocument(doc.get(), 1 << 20, &ota, reason, sizeof reason);
    CHECK(ok == (c.reason[0] == '\0'));
    CHECK(std::string(reason) == c.reason);
    if (ok) {
      CHECK(std::string(ota.version) == "v2");
      CHECK(std::string(ota.url) == "https://h/x");
      CHECK(std::string(ota.sha256) == sum);
      CHECK(ota.size == 10);
    }
  }
  // Upper-case hex is not what job create writes, nor what the device compares.
  Owned upper(cJSON_Parse((R"({"operation":"ota","version":"v","url":"https://h/","size":1,"sha256":")" +
                           std::string(64, 'A') + "\"}").c_str()));
  iotcore::OtaJob ota;
  char reason[256];
  CHECK_FALSE(iotcore::ParseJobDocument(upper.get(), 10, &ota, reason, sizeof reason));
  std::string longVersion(iotcore::kMaxFwVersion + 1, 'v');
  Owned tooLong(cJSON_Parse((R"({"operation":"ota","url":"https://h/","size":1,"sha256":")" + sum +
                             R"(","version":")" + longVersion + "\"}").c_str()));
  CHECK_FALSE(iotcore::ParseJobDocument(tooLong.get(), 10, &ota, reason, sizeof reason));
  CHECK(std::string(reason).find("too long") != std::string::npos);
}

TEST_CASE("after a reboot the execution's step and the running firmware decide") {
  using iotcore::JobStep;
  using iotcore::NextStep;
  CHECK(NextStep(nullptr, "fw-1", "fw-2") == JobStep::kDownload);
  CHECK(NextStep("download", "fw-1", "fw-2") == JobStep::kDownload);  // rebooted mid-download
  CHECK(NextStep("rebooting", "fw-2", "fw-2") == JobStep::kConfirm);
  CHECK(NextStep("rebooting", "fw-1", "fw-2") == JobStep::kRolledBack);
}

TEST_CASE("the requests' payloads") {
  char buf[256];
  size_t n = iotcore::BuildStartNext(buf, sizeof buf);
  CHECK(std::string(buf, n) == R"({"clientToken":"start-next","stepTimeoutInMinutes":10})");
  CHECK(iotcore::BuildStartNext(buf, 10) == 0);
  iotcore::Detail d[] = {{"step", "download"}, {"progress", "25%"}};
  n = iotcore::BuildJobUpdate("IN_PROGRESS", d, 2, "download", buf, sizeof buf);
  CHECK(std::string(buf, n) ==
        R"({"status":"IN_PROGRESS","statusDetails":{"step":"download","progress":"25%"},"clientToken":"download"})");
  iotcore::Detail quote[] = {{"reason", "unknown operation \"x\""}};
  n = iotcore::BuildJobUpdate("REJECTED", quote, 1, "REJECTED", buf, sizeof buf);
  Owned doc(cJSON_Parse(std::string(buf, n).c_str()));
  CHECK(std::string(cJSON_GetObjectItem(cJSON_GetObjectItem(doc.get(), "statusDetails"), "reason")->valuestring) ==
        "unknown operation \"x\"");
  CHECK(iotcore::BuildJobUpdate("IN_PROGRESS", d, 2, "download", buf, 40) == 0);
}

TEST_CASE("the image check: size, sum and each quarter once, however the download is cut") {
  std::mt19937 rng(24);
  for (int round = 0; round < 2000; round++) {
    std::string image(1 + rng() % 5000, '\0');
    for (char& c : image) c = static_cast<char>(rng());
    iotcore::OtaJob job;
    job.size = static_cast<uint32_t>(image.size());
    snprintf(job.sha256, sizeof job.sha256, "%s", ToyHex(image).c_str());
    int fault = static_cast<int>(rng() % 4);  // 0 none, 1 short, 2 long, 3 wrong sum
    std::string sent = image;
    if (fault == 1) sent.pop_back();
    if (fault == 2) sent.push_back('x');
    if (fault == 3) sent[rng() % sent.size()] ^= 1;
    ToyHash hash;
    iotcore::ImageCheck check(job, hash);
    std::vector<int> progress;
    bool taken = true;
    for (size_t at = 0; at < sent.size() && taken;) {
      size_t n = std::min<size_t>(sent.size() - at, 1 + rng() % 700);
      taken = check.Add(reinterpret_cast<const uint8_t*>(sent.data() + at), n);
      for (int p; taken && (p = check.NextProgress()) > 0;) progress.push_back(p);
      at += n;
    }
    CAPTURE(round);
    CAPTURE(fault);
    bool ok = taken && check.Finish();
    CHECK(ok == (fault == 0 || (fault == 3 && sent == image)));
    if (fault == 0) CHECK(progress == std::vector<int>{25, 50, 75});
    if (fault == 1) CHECK(std::string(check.reason()).find("; the job says") != std::string::npos);
    if (fault == 2) CHECK(std::string(check.reason()).find("larger than the job's") != std::string::npos);
    if (fault == 3) CHECK(std::string(check.reason()).find("sha256 mismatch: the image is ") == 0);
  }
}

TEST_CASE("an ota job: start-next at connect, download with progress, reboot once the step is taken") {
  Device d;
  std::string image(4000, 'i');
  d.updater.images[kUrl] = image;
  d.core.OnConnected(0);
  REQUIRE(d.StartNexts() == 1);
  CHECK(d.port.published[0].payload == R"({"clientToken":"start-next","stepTimeoutInMinutes":10})");

  d.Receive(d.Jobs("start-next/accepted"), Execution("job-1", OtaDoc(image)));
  CHECK(d.updater.downloads == 0);  // not inside the message callback
  d.core.Poll(1000);
  CHECK(d.updater.written == image);
  CHECK(d.updater.closed == 1);
  CHECK(d.Updates("job-1") == std::vector<std::string>{
                                  "IN_PROGRESS step=download progress=0%",
                                  "IN_PROGRESS step=download progress=25%",
                                  "IN_PROGRESS step=download progress=50%",
                                  "IN_PROGRESS step=download progress=75%",
                                  "IN_PROGRESS step=rebooting target=fw-2",
                              });
  d.core.Poll(2000);
  CHECK(d.updater.reboots == 0);  // the service has not taken the step yet
  d.Receive(d.Jobs("job-1/update/accepted"), R"({"timestamp":1,"clientToken":"download"})");
  d.core.Poll(2000);
  CHECK(d.updater.reboots == 0);
  d.Receive(d.Jobs("job-1/update/accepted"), R"({"timestamp":1,"clientToken":"rebooting"})");
  d.core.Poll(2000);
  CHECK(d.updater.reboots == 1);
  CHECK(d.updater.publishedAtReboot == d.port.published.size() - 1);
  // A board that could not restart says so.
  CHECK(d.Updates("job-1").back() ==
        "FAILED reason=the device could not boot the new image (its log says why)");
}

TEST_CASE("after the reboot: SUCCEEDED on the new image, FAILED when the old one came back") {
  std::string image(100, 'i');
  std::string rebooting = Execution("job-1", OtaDoc(image), R"({"step":"rebooting","target":"fw-2"})");
  Device updated("fw-2");
  updated.core.OnConnected(0);
  updated.Receive(updated.Jobs("start-next/accepted"), rebooting);
  CHECK(updated.Updates("job-1") == std::vector<std::string>{"SUCCEEDED fw=fw-2"});
  CHECK(std::string(updated.core.jobs().busy()).empty());

  Device fellBack("fw-1");
  fellBack.core.OnConnected(0);
  fellBack.Receive(fellBack.Jobs("start-next/accepted"), rebooting);
  CHECK(fellBack.Updates("job-1") ==
        std::vector<std::string>{"FAILED reason=rebooted into fw-1, not fw-2: rolled back"});
  CHECK(fellBack.updater.downloads == 0);
}

TEST_CASE("jobs the device cannot run, and downloads that fail, end with the reason") {
  std::string image(3000, 'i');
  std::string wrongSum = OtaDoc(image);
  wrongSum.replace(wrongSum.find(ToyHex(image)), 64, std::string(64, '0'));
  struct {
    const char* name;
    std::string doc;
    const char* served;  // null: the server has no such file
    bool failWrites;
    std::string last;  // the job's last update
  } cases[] = {
      {"unknown operation", R"({"operation":"factory-reset"})", nullptr, false,
       R"(REJECTED reason=unknown operation "factory-reset" (this firmware runs "ota"))"},
      {"wrong checksum", wrongSum, "", false,
       "FAILED reason=sha256 mismatch: the image is " + ToyHex(image) + ", the job says " + std::string(64, '0')},
      {"the server refuses", OtaDoc(image), nullptr, false,
       "FAILED reason=download: the server answered HTTP/1.1 404 Not Found"},
      {"larger than the document says", OtaDoc(image), "x", false,
       "FAILED reason=the image is larger than the job's 3000 bytes"},
      {"the slot cannot be written", OtaDoc(image), "", true,
       "FAILED reason=cannot write the image: flash write failed"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Device d;
    if (c.served != nullptr) d.updater.images[kUrl] = image + c.served;
    d.updater.failWrites = c.failWrites;
    d.core.OnConnected(0);
    d.Hand(Execution("j", c.doc));
    CHECK(d.Updates("j").back() == c.last);
    CHECK(d.updater.closed == 0);
    CHECK(d.updater.reboots == 0);
    CHECK(std::string(d.core.jobs().busy()).empty());
  }
}

TEST_CASE("a reboot during the download: the execution says download, so it downloads again") {
  Device d;
  std::string image(2000, 'i');
  d.updater.images[kUrl] = image;
  d.core.OnConnected(0);
  d.Hand(Execution("job-1", OtaDoc(image), R"({"step":"download","progress":"50%"})"));
  CHECK(d.updater.written == image);
  CHECK(d.Updates("job-1").back() == "IN_PROGRESS step=rebooting target=fw-2");
}

TEST_CASE("notify-next: a new job is asked for, a job the service moved on from is dropped") {
  Device d;
  std::string image(100, 'i');
  d.updater.images[kUrl] = image;
  d.core.OnConnected(0);
  d.Receive(d.Jobs("notify-next"), R"({"timestamp":1})");  // nothing pending
  CHECK(d.StartNexts() == 1);
  d.Receive(d.Jobs("notify-next"), Execution("job-1", R"({})"));
  CHECK(d.StartNexts() == 2);
  d.Receive(d.Jobs("start-next/accepted"), Execution("job-1", OtaDoc(image)));
  CHECK(std::string(d.core.jobs().busy()) == "job-1");
  // Canceled before the loop got to it: the download never starts.
  d.Receive(d.Jobs("notify-next"), R"({"timestamp":2})");
  d.core.Poll(1000);
  CHECK(d.updater.downloads == 0);
  CHECK(std::string(d.core.jobs().busy()).empty());
}

TEST_CASE("the rebooting step's answer lost with the connection: the next connect reboots") {
  Device d;
  std::string image(100, 'i');
  d.updater.images[kUrl] = image;
  d.core.OnConnected(0);
  d.Receive(d.Jobs("start-next/accepted"), Execution("job-1", OtaDoc(image)));
  d.core.Poll(1000);
  d.core.OnDisconnected(2000);
  d.core.OnConnected(3000);
  CHECK(d.StartNexts() == 2);
  d.Receive(d.Jobs("start-next/accepted"),
            Execution("job-1", OtaDoc(image), R"({"step":"rebooting","target":"fw-2"})"));
  d.core.Poll(3000);
  CHECK(d.updater.reboots == 1);
  CHECK(d.updater.downloads == 1);
  CHECK(d.updater.publishedAtReboot == d.port.published.size() - 1);  // nothing since the connect
}

TEST_CASE("a rejected rebooting step (the job was canceled) does not reboot") {
  Device d;
  std::string image(100, 'i');
  d.updater.images[kUrl] = image;
  d.core.OnConnected(0);
  d.Receive(d.Jobs("start-next/accepted"), Execution("job-1", OtaDoc(image)));
  d.core.Poll(1000);
  d.Receive(d.Jobs("job-1/update/rejected"),
            R"({"code":"TerminalStateReached","message":"canceled","clientToken":"rebooting","timestamp":1})");
  d.core.Poll(2000);
  CHECK(d.updater.reboots == 0);
  CHECK(std::string(d.core.jobs().busy()).empty());
}

TEST_CASE("a device without an update slot takes no jobs; bad payloads are ignored") {
  Device none("fw-1", false);
  none.core.OnConnected(0);
  CHECK(none.StartNexts() == 0);
  Device d;
  d.core.OnConnected(0);
  for (const char* bad : {"", "{", "[]", R"({"execution":7})", R"({"execution":{"jobId":"a/b"}})",
                          R"({"execution":{"jobId":"j","jobDocument":"{}"}})"}) {
    d.Receive(d.Jobs("start-next/accepted"), bad);
    d.Receive(d.Jobs("notify-next"), bad);
    d.Receive(d.Jobs("x/update/accepted"), bad);
  }
  CHECK(d.updater.downloads == 0);
  CHECK(d.core.stats().unexpected == 0);
}

TEST_CASE("jobs topics") {
  iotcore::Topics t;
  REQUIRE(t.Build("pico-01", "env"));
  CHECK(std::string(t.startNext()) == "$aws/things/pico-01/jobs/start-next");
  CHECK(std::string(t.notifyNext()) == "$aws/things/pico-01/jobs/notify-next");
  CHECK(std::string(t.jobUpdateAnswers()) == "$aws/things/pico-01/jobs/+/update/+");
  // Subscribed on every connect after the shadow's four.
  CHECK(std::string(t.subscription(4)) == t.notifyNext());
  CHECK(std::string(t.subscription(5)) == t.startNextAccepted());
  CHECK(std::string(t.subscription(6)) == t.startNextRejected());
  CHECK(std::string(t.subscription(7)) == t.jobUpdateAnswers());
  char topic[iotcore::kMaxTopic];
  REQUIRE(t.JobUpdate(std::string(64, 'j').c_str(), topic, sizeof topic));
  CHECK(std::string(topic) == "$aws/things/pico-01/jobs/" + std::string(64, 'j') + "/update");
  CHECK_FALSE(t.JobUpdate(std::string(65, 'j').c_str(), topic, sizeof topic));
  CHECK_FALSE(t.JobUpdate("a:b", topic, sizeof topic));
  char id[iotcore::kMaxJobId + 1];
  bool accepted = false;
  REQUIRE(t.JobUpdateAnswer("$aws/things/pico-01/jobs/j-1/update/rejected", id, sizeof id, &accepted));
  CHECK(std::string(id) == "j-1");
  CHECK_FALSE(accepted);
  CHECK_FALSE(t.JobUpdateAnswer("$aws/things/pico-01/jobs/j-1/get/accepted", id, sizeof id, &accepted));
  CHECK_FALSE(t.JobUpdateAnswer("$aws/things/other/jobs/j-1/update/accepted", id, sizeof id, &accepted));
  CHECK_FALSE(t.IsJobs("$aws/things/pico-01/shadow/name/env/get"));
  std::string thing128(128, 'T');
  REQUIRE(t.Build(thing128.c_str(), nullptr));
  REQUIRE(t.JobUpdate(std::string(64, 'j').c_str(), topic, sizeof topic));
  CHECK(strlen(topic) + strlen("/rejected") < iotcore::kMaxTopic);
}
