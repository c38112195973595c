// Fault injection, a test hook (see faults.h): the table, SPLICEFS_FAULTS, and the two
// functions JavaScript arms and consults it with.
#include "faults.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

namespace splicefs {

FaultSlot gFaults[kFaultSites];

namespace {

const char* const kSiteNames[kFaultSites] = {"header", "data", "pread", "drain", "pipe", "device", "clone", "init", "backing", "request", "flush"};

int SiteByName(const std::string& name) {
  for (int i = 0; i < kFaultSites; i++)
    if (name == kSiteNames[i]) return i;
  return -1;
}

std::string SiteList() {
  std::string s;
  for (int i = 0; i < kFaultSites; i++) s += (i ? ", " : "") + std::string(kSiteNames[i]);
  return s;
}

// "EAGAIN" or "11" -> 11; 0 if neither.
int ErrnoByName(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) return atoi(s.c_str());
  for (int e = 1; e < 4096; e++) {
    const char* n = strerrorname_np(e);
    if (n && s == n) return e;
  }
  return 0;
}

void Arm(int site, int err, int count, int skip) {
  gFaults[site].err.store(err, std::memory_order_relaxed);
  gFaults[site].failing.store(count, std::memory_order_relaxed);
  gFaults[site].remaining.store(count > 0 ? skip + count : 0, std::memory_order_release);
}

bool Digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// SPLICEFS_FAULTS=site:ERRNO:count[:skip][,...]. Returns an error message, or "" when all is well.
std::string ArmFromEnv() {
  const char* env = getenv("SPLICEFS_FAULTS");
  if (!env || !*env) return "";
  std::string spec(env);
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    std::string item = spec.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    size_t a = item.find(':'), b = a == std::string::npos ? a : item.find(':', a + 1);
    if (b == std::string::npos) return "'" + item + "' is not site:ERRNO:count[:skip]";
    size_t c = item.find(':', b + 1);
    int site = SiteByName(item.substr(0, a));
    int err = ErrnoByName(item.substr(a + 1, b - a - 1));
    std::string countText = item.substr(b + 1, c == std::string::npos ? c : c - b - 1);
    std::string skipText = c == std::string::npos ? "0" : item.substr(c + 1);
    if (site < 0) return "unknown site in '" + item + "' (sites: " + SiteList() + ")";
    if (err <= 0 || err > 0xfff) return "unknown errno in '" + item + "'";
    if (!Digits(countText) || !Digits(skipText)) return "bad count or skip in '" + item + "'";
    Arm(site, err, atoi(countText.c_str()), atoi(skipText.c_str()));
  }
  return "";
}

int ArgSite(const Napi::CallbackInfo& info) {
  int site = SiteByName(info[0].As<Napi::String>().Utf8Value());
  if (site < 0) throw Napi::TypeError::New(info.Env(), "unknown fault site (sites: " + SiteList() + ")");
  return site;
}

// injectFault(site, errno, count, skip = 0): after the next `skip` runs of `site`, the `count`
// that follow fail with `errno` (count 0 disarms). Returns how many runs were still to count
// before (skip + count left), so 0 means every armed fault was used.
Napi::Value InjectFault(const Napi::CallbackInfo& info) {
  int site = ArgSite(info);
  int err = ArgInt(info, 1);
  int count = ArgInt(info, 2);
  int skip = info.Length() > 3 && !info[3].IsUndefined() ? ArgInt(info, 3) : 0;
  if (count < 0 || skip < 0 || (count > 0 && (err <= 0 || err > 0xfff)))
    throw Napi::RangeError::New(info.Env(), "injectFault: errno 1..4095, count >= 0, skip >= 0");
  int before = gFaults[site].remaining.exchange(0);
  Arm(site, err, count, skip);
  return Result(info.Env(), before > 0 ? before : 0);
}

// takeFault(site): -errno when this run of `site` is to fail (one fewer left), else 0. For the
// sites TypeScript owns (init).
Napi::Value TakeFaultJs(const Napi::CallbackInfo& info) {
  int e = TakeFault(static_cast<FaultSite>(ArgSite(info)));
  return Result(info.Env(), -e);
}

}  // namespace

int TakeFaultSlow(FaultSite site) {
  FaultSlot& f = gFaults[site];
  int n = f.remaining.load(std::memory_order_acquire);
  while (n > 0) {
    if (f.remaining.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel))
      return n <= f.failing.load(std::memory_order_relaxed) ? f.err.load(std::memory_order_relaxed) : 0;
  }
  return 0;
}

void InitFaults(Napi::Env env, Napi::Object exports) {
  // Once per process: a second load of the addon (worker_threads) must not re-arm.
  static bool loaded = false;
  if (!loaded) {
    loaded = true;
    std::string err = ArmFromEnv();
    if (!err.empty()) throw Napi::Error::New(env, "SPLICEFS_FAULTS: " + err);
  }
  exports.Set("injectFault", Napi::Function::New(env, InjectFault));
  exports.Set("takeFault", Napi::Function::New(env, TakeFaultJs));
}

}  // namespace splicefs
