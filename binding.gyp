{
  "targets": [
    {
      "target_name": "splicefs",
      "sources": ["addon/addon.cc", "addon/device.cc", "addon/pipe.cc", "addon/reply.cc", "addon/executor.cc", "addon/workers.cc", "addon/fsops.cc", "addon/faults.cc", "addon/nodefds.cc", "addon/lifetime.cc", "addon/writeops.cc", "addon/write.cc", "addon/backing.cc", "addon/commfd.cc", "addon/closer.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"]
    }
  ]
}
