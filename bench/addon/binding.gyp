# Build description for the benchmark's hand-written Node-API addon (the baseline cffi is
# compared with). It links bench/build/libbench.so, which bench/setup.js compiles first.
{
  "targets": [
    {
      "target_name": "bench_addon",
      "sources": ["bench_addon.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-L<(module_root_dir)/../build", "-lbench",
                    "-Wl,-rpath,<(module_root_dir)/../build"]
    }
  ]
}
