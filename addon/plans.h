// The plans TypeScript registered for the worker threads: one per open file handle (fh), and,
// for the handles TypeScript also names a node for, which handles are open on each node, so a
// request that carries only the node (GETXATTR) can be executed on one of their fds.
// Read by every worker (shared lock), changed by the event loop (exclusive lock).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "reply.h"

namespace splicefs {

class PlanTable {
 public:
  // Register (or replace) fh's plan. nodeid != 0: fh's fd may serve node requests of nodeid.
  void Set(uint64_t fh, const ReadPlan& plan, uint64_t nodeid) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    auto it = plans_.find(fh);
    if (it != plans_.end() && it->second.nodeid != nodeid) Unlink(fh, it->second.nodeid);
    if (nodeid != 0 && (it == plans_.end() || it->second.nodeid != nodeid)) nodes_[nodeid].push_back(fh);
    plans_[fh] = Entry{plan, nodeid};
  }

  // Forget fh. After this returns no worker uses its fd any more (DupNodeFd dups under the lock).
  void Erase(uint64_t fh) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    auto it = plans_.find(fh);
    if (it == plans_.end()) return;
    Unlink(fh, it->second.nodeid);
    plans_.erase(it);
  }

  bool Find(uint64_t fh, ReadPlan* out) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = plans_.find(fh);
    if (it == plans_.end()) return false;
    *out = it->second.plan;
    return true;
  }

  // A dup of the fd of a handle open on nodeid, or -1 (none registered, or dup failed). A dup:
  // the handle may be released, and its fd closed, while the caller still uses it.
  int DupNodeFd(uint64_t nodeid) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto n = nodes_.find(nodeid);
    if (n == nodes_.end() || n->second.empty()) return -1;
    auto p = plans_.find(n->second.front());
    return p == plans_.end() ? -1 : dup(p->second.plan.fd);
  }

 private:
  struct Entry {
    ReadPlan plan;
    uint64_t nodeid = 0;
  };
  void Unlink(uint64_t fh, uint64_t nodeid) {
    auto n = nodes_.find(nodeid);
    if (n == nodes_.end()) return;
    auto& v = n->second;
    v.erase(std::remove(v.begin(), v.end(), fh), v.end());
    if (v.empty()) nodes_.erase(n);
  }
  mutable std::shared_mutex mu_;
  std::unordered_map<uint64_t, Entry> plans_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> nodes_;  // nodeid -> fhs registered with it
};

}  // namespace splicefs
