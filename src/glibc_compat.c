/* glibc_compat.c: lets a cffi.node built on a new glibc load on an old one.
 *
 * glibc 2.34 moved dlopen/dlsym/dlclose/dlerror (from libdl) and pthread_once and sem_*
 * (from libpthread) into libc, under a new symbol version GLIBC_2.34; memfd_create only exists
 * since glibc 2.27. Linked plainly on a new glibc, cffi.node requires those versions and fails
 * to load on older systems ("version `GLIBC_2.34' not found"). libc still carries the original
 * versions as compatibility symbols, so we bind to those instead: on an old glibc the dynamic
 * linker finds them in libdl.so.2 / libpthread.so.0, which cffi.gypi therefore links with
 * --no-as-needed (on glibc >= 2.34 those two are empty stubs and the symbols come from libc).
 *
 * A `.symver` only redirects references in its own translation unit, and libtcc.a and
 * libffi_pic.a call these functions too. So cffi.gypi links with -Wl,--wrap=X for each of them:
 * every reference to X in the link (ours, libtcc's, libffi's) goes to __wrap_X, defined here,
 * which calls X at the old version. memfd_create goes straight to the system call (a kernel
 * without it answers ENOSYS, and libffi then falls back to its other ways of getting
 * executable memory). scripts/check-binary.js checks the result.
 *
 * On an unknown architecture or a libc other than glibc the wrappers call the plain symbol
 * (__real_X), which is what linking without --wrap would have done. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__GLIBC__) && defined(__x86_64__)
#define CFFI_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__GLIBC__) && defined(__aarch64__)
#define CFFI_GLIBC_BASE "GLIBC_2.17"
#endif

#ifdef CFFI_GLIBC_BASE
#define CFFI_OLD(name) __asm__(".symver cffi_old_" #name ", " #name "@" CFFI_GLIBC_BASE);
#else
#define CFFI_OLD(name) /* the target of cffi_old_X is __real_X, below */
#endif

/* CFFI_WRAP(ret, name, (params), (args)) declares cffi_old_name bound to the old version and
 * defines __wrap_name calling it. */
#define CFFI_WRAP(ret, name, params, args) \
  CFFI_OLD(name) \
  extern ret cffi_old_##name params CFFI_REAL(name); \
  __attribute__((visibility("hidden"))) ret __wrap_##name params { return cffi_old_##name args; }

#ifdef CFFI_GLIBC_BASE
#define CFFI_REAL(name)
#else
#define CFFI_REAL(name) __asm__("__real_" #name)
#endif

CFFI_WRAP(void *, dlopen, (const char *file, int mode), (file, mode))
CFFI_WRAP(void *, dlsym, (void *handle, const char *name), (handle, name))
CFFI_WRAP(int, dlclose, (void *handle), (handle))
CFFI_WRAP(char *, dlerror, (void), ())
CFFI_WRAP(int, pthread_once, (pthread_once_t *once, void (*init)(void)), (once, init))
CFFI_WRAP(int, sem_init, (sem_t *sem, int pshared, unsigned value), (sem, pshared, value))
CFFI_WRAP(int, sem_wait, (sem_t *sem), (sem))
CFFI_WRAP(int, sem_post, (sem_t *sem), (sem))

__attribute__((visibility("hidden"))) int __wrap_memfd_create(const char *name, unsigned flags) {
#ifdef SYS_memfd_create
  return (int)syscall(SYS_memfd_create, name, flags);
#else
  (void)name;
  (void)flags;
  errno = ENOSYS;
  return -1;
#endif
}
