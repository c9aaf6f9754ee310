# Build description for the cffi addon. Links the system libffi statically (libffi_pic.a from
# libffi-dev: one shared object less to load at require(), ~0.15 ms) and the static libtcc
# from Debian's libtcc-dev (see src/tcc_glibc.c for why --exclude-libs).
{
  "targets": [
    {
      "target_name": "cffi",
      "sources": [
        "src/addon.c",
        "src/error.c",
        "src/convert.c",
        "src/call_ffi.c",
        "src/library.c",
        "src/callback.c",
        "src/threads.c",
        "src/async.c",
        "src/memory.c",
        "src/call_jit.c",
        "src/codegen.c",
        "src/jsgen.c",
        "src/sbuf.c",
        "src/tcc_glibc.c",
        "src/cb_stub.c"
      ],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden", "-O2"],
      "cflags!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-ltcc", "-Wl,-Bstatic", "-lffi_pic", "-Wl,-Bdynamic", "-ldl", "-lpthread"],
      "ldflags": ["-Wl,--exclude-libs,ALL"]
    }
  ]
}
