/* tcc_glibc.c: lets Debian's static libtcc.a live inside this shared object.
 *
 * libtcc-dev ships only libtcc.a, compiled as position-independent *executable* code. Its
 * references to glibc's `stdout`, `stderr` and `environ` are direct (PC-relative) accesses
 * that an executable satisfies with copy relocations, which a shared object cannot have:
 * linking fails with "relocation R_X86_64_PC32 against symbol `stderr'... recompile with
 * -fPIC". The workaround: define hidden variables with those names here, so the linker
 * resolves libtcc's references inside cffi.node, and fill them from glibc's real ones before
 * TinyCC first runs (cffi_tcc_glibc_init, from cffi_tcc_run_guarded, the one way in). Not in
 * a constructor: its three lookups cost every require() ~40 us here, and most processes never
 * run TinyCC. These names mean the copies in every file of cffi.node, so cffi's own code does
 * not use them (it writes diagnostics with dprintf(STDERR_FILENO, ...); test/load.test.js
 * checks src/ for them). binding.gyp links with
 * -Wl,--exclude-libs,ALL so nothing from libtcc.a is exported either.
 *
 * This file deliberately does not include <stdio.h> or <unistd.h>, whose declarations of
 * these names would clash with the hidden definitions. The copies are read once: TinyCC
 * only uses them to print diagnostics when no error callback is set (call_jit.c always sets
 * one) and environ for tcc_run, which cffi never calls. */
#define _GNU_SOURCE
#include <dlfcn.h>

__attribute__((visibility("hidden"))) void *stdout;
__attribute__((visibility("hidden"))) void *stderr;
__attribute__((visibility("hidden"))) char **environ;

/* Called with call_jit.c's tcc_lock held, so once at a time; later calls return at once. */
__attribute__((visibility("hidden"))) void cffi_tcc_glibc_init(void) {
  static int done;
  if (done) return;
  done = 1;
  void **p;
  if ((p = dlsym(RTLD_DEFAULT, "stdout"))) stdout = *p;
  if ((p = dlsym(RTLD_DEFAULT, "stderr"))) stderr = *p;
  char ***e = dlsym(RTLD_DEFAULT, "environ");
  if (e) environ = *e;
}
