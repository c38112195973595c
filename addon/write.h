// The worker threads' side of a writable handle: WRITE (pwrite of the payload, read with the
// request, into the backing file), FSYNC and FALLOCATE, executed where the request was read
// so that a slow disk blocks one worker, never the event loop. Only for a handle whose plan
// (reply.h) says kWriteCopy: TypeScript decides which handles (datapath/write.ts), and every
// other case goes to the event loop as before.
#pragma once

#include "reply.h"

#include <cstddef>
#include <cstdint>

namespace splicefs {

// Execute the request in req[0, n) (a WRITE, FSYNC or FALLOCATE of `plan`'s handle) and write
// its reply on devfd. True when the request needs nothing more (replied, or the device refused
// the reply: interrupted or gone); false when it is not one of these opcodes or is malformed
// (then the event loop gets it, and answers it as TypeScript decides).
bool ExecuteHandleOp(const ReadPlan& plan, int devfd, const uint8_t* req, size_t n, ReadCounters& counters);

}  // namespace splicefs
