# cffi.gypi: the build description of the cffi addon, included by the repository's binding.gyp
# and by the src/binding.gyp that the packed package carries (paths here are relative to src/).
# Links the system libffi statically (libffi_pic.a from libffi-dev: one shared object less to
# load at require(), ~0.15 ms) and the static libtcc from Debian's libtcc-dev (see
# src/tcc_glibc.c for why --exclude-libs). The --wrap flags and the libdl/libpthread entries keep
# the glibc floor low (see src/glibc_compat.c; scripts/check-binary.js checks the result);
# --wrap=mprotect,--wrap=exit keep libtcc from making pages writable+executable and from ending
# the process (see src/tcc_memory.c).
# cffi_sanitize=1 (scripts/build.js passes it when CFFI_SANITIZE=1; scripts/test-asan.js uses
# it) builds with AddressSanitizer and UndefinedBehaviorSanitizer, for testing only.
{
  "variables": { "cffi_sanitize%": 0 },
  "targets": [
    {
      "target_name": "cffi",
      "sources": [
        "addon.c",
        "error.c",
        "convert.c",
        "layout.c",
        "call_ffi.c",
        "library.c",
        "callback.c",
        "decl.c",
        "threads.c",
        "async.c",
        "memory.c",
        "call_jit.c",
        "cc.c",
        "codegen.c",
        "jsgen.c",
        "sbuf.c",
        "tcc_glibc.c",
        "cb_stub.c",
        "cb_direct.c",
        "glibc_compat.c",
        "tcc_memory.c"
      ],
      # -falign-functions=64: each function starts a cache line, so that growing one file does not
      # move another's hot code across line boundaries. Without it, a callback from a C loop cost
      # 121-126 or 134-145 ns depending on unrelated code before callback.c (an unused function
      # added to addon.c was enough); with it, 121-125 either way (paired medians: -17 ns a
      # callback), for 4 KB more code.
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden", "-O2",
                 "-falign-functions=64"],
      "cflags!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-ltcc", "-Wl,-Bstatic", "-lffi_pic", "-Wl,-Bdynamic",
                    "-Wl,--push-state,--no-as-needed", "-l:libdl.so.2", "-l:libpthread.so.0", "-Wl,--pop-state"],
      # -z nodelete: Node unloads an addon when the last environment that loaded it ends, so a
      # Worker that was the only user of cffi would take cffi.node with it when terminated. But C
      # threads may still run cffi code then: a JSCallback's closure, stub and relay (SPEC 8.1: a
      # callback that was not closed answers zero after its environment is gone), and the
      # trampolines that call into cb_dispatch. Marked NODELETE, cffi.node is never unloaded, as
      # the libraries opened by dlopen() stay loaded until close() (SPEC 16). (It used to take a
      # reference to itself with dlopen(RTLD_NODELETE) at load: ~35 us of every require().)
      "ldflags": ["-Wl,--exclude-libs,ALL", "-Wl,-z,nodelete",
                  "-Wl,--wrap=dlopen,--wrap=dlsym,--wrap=dlclose,--wrap=dlerror,--wrap=pthread_once",
                  "-Wl,--wrap=sem_init,--wrap=sem_wait,--wrap=sem_post,--wrap=memfd_create",
                  "-Wl,--wrap=mprotect,--wrap=exit"],
      "conditions": [
        ["cffi_sanitize==1", {
          "cflags": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
