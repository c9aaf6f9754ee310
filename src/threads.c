/* threads.c: JSCallback invocations that cannot run synchronously on the JS thread (SPEC §8.1):
 * threadsafe void callbacks (queued from any thread; the C caller returns at once) and calls
 * from other threads (the caller blocks until the JS thread has run the function).
 *
 * Design. One relay per environment (st->threads): a FIFO of pending invocations guarded by a
 * mutex, and one libuv async handle on the environment's event loop used only as a wake-up. A
 * producer appends to the FIFO and signals the handle only when the FIFO was idle; the JS
 * thread then drains the whole FIFO in one dispatch: one wake-up and one callback scope serve
 * many invocations (about 5 million queued calls/s from foreign threads on the 2-core test
 * machine). The handle is unref'd: an idle callback never keeps the event loop alive.
 * A libuv handle rather than a Node-API threadsafe function (which wraps one and an async
 * context): the first `new JSCallback` of a process made the relay, and the threadsafe function
 * cost it 12-47 us more than the handle does (paired medians, Node 20-26: first use of Node's
 * code). The async context that the dispatch's callback scope needs is made on the first
 * dispatch instead, so only programs that relay invocations pay for it.
 *
 * Lifetime. Each callback has a node (cb->relay) counting its undelivered invocations. close()
 * frees the callback at once when nothing is pending; otherwise it appends a "free" marker
 * behind the pending invocations, so that everything queued before close() is still delivered.
 * On environment teardown (worker.terminate(), process exit: the addon's instance data is
 * finalized) the relay is marked dead and its FIFO dropped (queued invocations are freed,
 * blocked callers get zero), and the handle is closed: Node runs a Worker's loop once more
 * before closing it, which frees the relay unless callbacks still point at it. Later calls see
 * the dead relay and return zero at once; callbacks still open then keep their closure (C may
 * still hold the pointer) and point at a static "dead" environment. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "cffi.h"

/* helgrind does not see the atomics of the spin: tell it about the happens-before edge. */
#if defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#endif
#endif
#ifndef ANNOTATE_HAPPENS_BEFORE
#define ANNOTATE_HAPPENS_BEFORE(obj) ((void)0)
#define ANNOTATE_HAPPENS_AFTER(obj) ((void)0)
#endif

enum { ITEM_QUEUED, ITEM_BLOCKING, ITEM_FREE };

/* Invocations handled per wake-up before yielding back to the event loop. */
#define BATCH_LIMIT 4096

typedef struct relay_s relay_t;

typedef struct node_s {
  relay_t *re;
  cffi_cb_t *cb;
  struct node_s *prev, *next; /* the relay's list of live callbacks (JS thread only) */
  int pending;                /* undelivered invocations; atomic */
  bool free_when_idle;        /* close() ran while invocations were pending (JS thread) */
} node_t;

typedef struct item_s {
  struct item_s *next;
  node_t *node;
  uint8_t kind;
  cffi_slot_t *args;
} item_t;

/* What a blocked caller waits on: one per thread (a thread blocks in one call at a time),
 * never destroyed, so that releasing the caller is the signaller's last access to it. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
} waiter_t;

static __thread waiter_t waiter = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

/* A blocked caller's invocation: lives on the caller's stack until `done`. */
typedef struct {
  item_t h;
  waiter_t *w;
  bool done;
  void *job; /* async job running on the calling thread (async.c), or NULL */
  cffi_slot_t ret;
  void *lret; /* a layout result: the caller's return storage, written on the JS thread */
} blocking_t;

/* What producers and the JS thread share comes first, in the relay's first cache line (it is
 * allocated aligned to one); the handle starts a line of its own: libuv's loop reads every
 * async handle's fields at each wake-up of any of them (Node's own fire often), and sharing a
 * line with the FIFO cost each queued invocation from one thread ~100 ns more (paired medians). */
#define RELAY_ALIGN 64
struct relay_s {
  pthread_mutex_t mu;
  item_t *head, *tail;  /* FIFO, under mu */
  bool scheduled;       /* a wake-up is on its way; under mu */
  bool dead;            /* environment torn down; under mu */
  _Alignas(RELAY_ALIGN) uv_async_t wake; /* other threads only uv_async_send it, under mu and while !dead */
  napi_env env;
  napi_async_context actx; /* of the dispatch's callback scope: made on the first dispatch */
  node_t *live;         /* callbacks not yet freed (JS thread only) */
  void *raw;            /* the allocation this relay lies in (aligned inside it) */
};

/* What an open callback points at once its environment is gone (thread 0: never matches). */
static cffi_env_t dead_env;

/* A foreign thread may load cb->st just before teardown frees it: only the pointer is
 * compared here, never read through. */
bool cffi_cb_on_js_thread(const cffi_cb_t *cb, const cffi_env_t *st) {
  return st != &dead_env && pthread_equal(pthread_self(), cb->thread);
}

/* The async job running on this thread (set by async.c around the C call). */
static __thread void *current_job;

void cffi_threads_set_job(void *job) { current_job = job; }

static void item_release(item_t *it);

static void node_free(node_t *n) {
  relay_t *re = n->re;
  if (n->prev) n->prev->next = n->next;
  else re->live = n->next;
  if (n->next) n->next->prev = n->prev;
  cffi_cb_t *cb = n->cb;
  if (cb->fn && cb->st->env) napi_delete_reference(cb->st->env, cb->fn);
  cb->fn = NULL;
  cb->relay = NULL;
  cffi_cb_free(cb);
  free(n);
}

/* After an invocation of n's callback was delivered or dropped (JS thread). */
static void node_done(node_t *n) {
  if (__atomic_sub_fetch(&n->pending, 1, __ATOMIC_ACQ_REL) == 0 && n->free_when_idle) node_free(n);
}

/* Runs one invocation on the JS thread; returns with the blocked caller released. */
static void deliver(napi_env env, item_t *it) {
  node_t *n = it->node;
  cffi_cb_t *cb = n->cb;
  if (it->kind == ITEM_FREE) {
    free(it);
    if (__atomic_load_n(&n->pending, __ATOMIC_ACQUIRE) == 0 && cb->active == 0) node_free(n);
    else n->free_when_idle = true;
    return;
  }
  cffi_slot_t r = {0};
  napi_value exc = NULL;
  if (it->kind == ITEM_BLOCKING) r.ptr = ((blocking_t *)it)->lret;
  if (env && cb->fn) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) == napi_ok) {
      if (cffi_cb_call_js(cb, it->args, &r, &exc) != 0) {
        r.u64 = 0;
        /* No exception means JS could not run at all (environment terminating); a thrown
         * `undefined` is an exception like any other. */
        if (exc) {
          void *job = it->kind == ITEM_BLOCKING ? ((blocking_t *)it)->job : NULL;
          if (!job || cffi_async_job_exception(job, cb->st, exc) != 0) cffi_cb_report_exception(cb->st, exc);
        }
      }
      napi_close_handle_scope(env, scope);
    }
  }
  item_release(it);
  if (it->kind == ITEM_BLOCKING) {
    blocking_t *b = (blocking_t *)it;
    waiter_t *w = b->w;
    pthread_mutex_lock(&w->mu);
    b->ret = r;
    ANNOTATE_HAPPENS_BEFORE(&b->done);
    __atomic_store_n(&b->done, true, __ATOMIC_RELEASE);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu); /* b is gone once the caller saw done */
  }
  node_done(n);
}

/* Frees what a queued invocation owns (its copies of cstring arguments, itself). */
static void item_release(item_t *it) {
  if (it->kind != ITEM_QUEUED) return;
  const cffi_sig_t *sig = &it->node->cb->sig;
  for (int i = 0; i < sig->nargs; i++)
    if (sig->args[i] == CFFI_T_CSTRING) free(it->args[i].ptr);
  /* `it` itself is freed by the caller of item_release, after the last use */
}

/* Signals the JS thread unless a wake-up is already on its way. Under re->mu, with !re->dead
 * (teardown sets it under mu before it closes the handle). */
static void relay_wake(relay_t *re) {
  if (!re->scheduled && uv_async_send(&re->wake) == 0) re->scheduled = true;
}

/* Delivers (env NULL: drops, see deliver) a list taken from the FIFO; returns its length. */
static int deliver_list(napi_env env, item_t *list) {
  int n = 0;
  while (list) {
    item_t *next = list->next;
    bool queued = list->kind == ITEM_QUEUED;
    deliver(env, list);
    if (queued) free(list);
    list = next;
    n++;
  }
  return n;
}

/* Drains the FIFO on the JS thread. */
static void relay_drain(napi_env env, relay_t *re) {
  int handled = 0;
  for (;;) {
    pthread_mutex_lock(&re->mu);
    item_t *list = re->head;
    re->head = re->tail = NULL;
    if (!list || handled >= BATCH_LIMIT) {
      re->scheduled = false;
      if (list) {
        /* put the batch back and come back after the event loop had a turn */
        re->head = list;
        item_t *t = list;
        while (t->next) t = t->next;
        re->tail = t;
        relay_wake(re);
      }
      pthread_mutex_unlock(&re->mu);
      return;
    }
    pthread_mutex_unlock(&re->mu);
    handled += deliver_list(env, list);
  }
}

/* The wake-up, on the JS thread (libuv calls it from the environment's event loop, where
 * Node has entered the environment's context): the invocations run inside one callback scope,
 * as a threadsafe function's would, so that microtasks and process.nextTick callbacks they
 * queue run when it closes. Its async context is made here the first time. */
static void relay_wake_cb(uv_async_t *handle) {
  relay_t *re = handle->data;
  napi_env env = re->env;
  napi_handle_scope hs;
  if (napi_open_handle_scope(env, &hs) != napi_ok) { /* JS cannot run: let the next push wake again */
    pthread_mutex_lock(&re->mu);
    re->scheduled = false;
    pthread_mutex_unlock(&re->mu);
    return;
  }
  napi_value name, resource;
  if (!re->actx && napi_create_string_utf8(env, "cffi.JSCallback", NAPI_AUTO_LENGTH, &name) == napi_ok &&
      napi_create_object(env, &resource) == napi_ok && napi_async_init(env, resource, name, &re->actx) != napi_ok)
    re->actx = NULL;
  napi_callback_scope cs = NULL;
  if (re->actx && napi_create_object(env, &resource) == napi_ok &&
      napi_open_callback_scope(env, resource, re->actx, &cs) != napi_ok)
    cs = NULL;
  relay_drain(env, re);
  if (cs) napi_close_callback_scope(env, cs);
  napi_close_handle_scope(env, hs);
}

static void relay_free(relay_t *re) {
  pthread_mutex_destroy(&re->mu);
  free(re->raw);
}

/* The handle is closed: libuv is done with it. Frees the relay unless a callback still
 * points at it. */
static void relay_closed(uv_handle_t *handle) {
  relay_t *re = handle->data;
  if (!re->live) relay_free(re); /* else the nodes and re stay: closures point at them */
}

/* Appends an invocation; false when the environment is gone (nothing was queued). */
static bool relay_push(relay_t *re, item_t *it) {
  it->next = NULL;
  pthread_mutex_lock(&re->mu);
  if (re->dead) {
    pthread_mutex_unlock(&re->mu);
    return false;
  }
  __atomic_add_fetch(&it->node->pending, 1, __ATOMIC_ACQ_REL);
  if (re->tail) re->tail->next = it;
  else re->head = it;
  re->tail = it;
  relay_wake(re);
  pthread_mutex_unlock(&re->mu);
  return true;
}

void cffi_threads_queue(cffi_cb_t *cb, void **args) {
  node_t *n = cb->relay;
  if (!n) return;
  int nargs = cb->sig.nargs;
  size_t frame = cb->sig.x ? cb->sig.x->frame : 0;
  item_t *it = malloc(sizeof(*it) + (size_t)nargs * sizeof(cffi_slot_t) + frame);
  if (!it) return; /* out of memory: the invocation is lost rather than crashing C */
  it->node = n;
  it->kind = ITEM_QUEUED;
  it->args = (cffi_slot_t *)(it + 1);
  cffi_cb_capture_args(cb, args, it->args);
  for (int i = 0; i < nargs; i++) {
    /* the caller's string and by-value layouts may be gone by delivery: copy their bytes now */
    if (cb->sig.args[i] == CFFI_T_CSTRING && it->args[i].ptr) it->args[i].ptr = strdup(it->args[i].ptr);
    if (cb->sig.args[i] == CFFI_T_LAYOUT) {
      uint8_t *copy = (uint8_t *)(it->args + nargs) + cb->sig.x->off[1 + i];
      memcpy(copy, it->args[i].ptr, cb->sig.x->layout[1 + i]->size);
      it->args[i].ptr = copy;
    }
  }
  if (!relay_push(n->re, it)) {
    item_release(it);
    free(it);
  }
}

/* A blocked caller may spin briefly before sleeping on its condition variable. When the JS
 * thread is idle it answers within microseconds, and a caller that calls again at once finds
 * the JS thread still draining the FIFO, so no wake-up is needed at all (measured on the idle
 * 2-core machine: 1.8 µs round trip spinning, 45 µs sleeping). When the CPUs are busy the
 * spinner takes the core the JS thread needs (measured: 24 µs spinning vs 15-19 µs sleeping
 * with one core loaded). So the spin adapts per thread: a spin answered within
 * SPIN_FAST_NS keeps the full budget, a slow or failed one halves it, down to no spinning;
 * every SPIN_RETRY calls without spinning, one spin is tried again. Never on a single CPU. */
#define SPIN_NS 50000
#define SPIN_FAST_NS 8000
#define SPIN_RETRY 256
#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

static int ncpu;
static pthread_once_t ncpu_once = PTHREAD_ONCE_INIT;
static void ncpu_init(void) { ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN); }

static __thread long spin_budget = SPIN_NS;
static __thread int spin_skipped;

static void spin_until_done(const bool *done) {
  /* here, not when the callback is made: sysconf reads /sys (~20 us of the first callback) */
  pthread_once(&ncpu_once, ncpu_init);
  if (ncpu < 2) return;
  long budget = spin_budget;
  if (budget < 1000) {
    if (++spin_skipped < SPIN_RETRY) return;
    spin_skipped = 0;
    budget = SPIN_FAST_NS; /* probe */
  }
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    bool ok = false;
    for (int i = 0; i < 64; i++) {
      if (__atomic_load_n(done, __ATOMIC_ACQUIRE)) {
        ANNOTATE_HAPPENS_AFTER(done);
        ok = true;
        break;
      }
      CPU_RELAX();
    }
    clock_gettime(CLOCK_MONOTONIC, &t);
    long ns = (t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec);
    if (ok || ns > budget) {
      spin_budget = ok && ns <= SPIN_FAST_NS ? SPIN_NS : spin_budget / 2;
      return;
    }
  }
}

void cffi_threads_call_blocking(cffi_cb_t *cb, void **args, void *ret) {
  node_t *n = cb->relay;
  blocking_t b;
  cffi_slot_t raw[CFFI_MAX_ARGS];
  /* read before the push: once released, the callback may already be freed (it can close
   * itself while it runs, and its free is queued right behind this call) */
  const uint8_t ret_type = cb->sig.ret;
  memset(&b.ret, 0, sizeof b.ret);
  b.lret = ret_type == CFFI_T_LAYOUT ? ret : NULL;
  if (n) {
    b.h.node = n;
    b.h.kind = ITEM_BLOCKING;
    b.h.args = raw;
    b.done = false;
    b.job = current_job;
    b.w = &waiter;
    cffi_cb_capture_args(cb, args, raw); /* cstring bytes stay valid: the caller waits */
    if (relay_push(n->re, &b.h)) {
      spin_until_done(&b.done);
      pthread_mutex_lock(&b.w->mu);
      while (!b.done) pthread_cond_wait(&b.w->cv, &b.w->mu);
      pthread_mutex_unlock(&b.w->mu);
    }
  }
  if (ret_type != CFFI_T_LAYOUT) cffi_write_ret(ret_type, &b.ret, ret);
  else if (!n) memset(ret, 0, cb->sig.x->layout[0]->size);
}

int cffi_threads_cb_init(cffi_cb_t *cb) {
  cffi_env_t *st = cb->st;
  relay_t *re = st->threads;
  if (!re) {
    /* calloc, aligned by hand, and the mutex's static initializer: posix_memalign and
     * pthread_mutex_init would be two more functions bound on a first JSCallback */
    void *raw = calloc(1, sizeof(*re) + RELAY_ALIGN - 1);
    if (!raw) return -1;
    re = (relay_t *)(((uintptr_t)raw + RELAY_ALIGN - 1) & ~(uintptr_t)(RELAY_ALIGN - 1));
    re->raw = raw;
    uv_loop_t *loop;
    if (napi_get_uv_event_loop(st->env, &loop) != napi_ok || uv_async_init(loop, &re->wake, relay_wake_cb) != 0) {
      free(raw);
      return -1;
    }
    re->mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    re->wake.data = re;
    re->env = st->env;
    uv_unref((uv_handle_t *)&re->wake);
    st->threads = re;
  }
  if (re->dead) return -1;
  node_t *n = calloc(1, sizeof(*n));
  if (!n) return -1;
  n->re = re;
  n->cb = cb;
  n->next = re->live;
  if (re->live) re->live->prev = n;
  re->live = n;
  cb->relay = n;
  return 0;
}

/* close() (cb->closed already set) or a failed creation: free now if nothing is pending, else
 * behind the pending invocations. */
void cffi_threads_cb_close(cffi_cb_t *cb) {
  node_t *n = cb->relay;
  if (__atomic_load_n(&n->pending, __ATOMIC_ACQUIRE) == 0 && cb->active == 0) {
    node_free(n);
    return;
  }
  item_t *it = malloc(sizeof(*it));
  if (it) {
    it->node = n;
    it->kind = ITEM_FREE;
    it->args = NULL;
    it->next = NULL;
    pthread_mutex_lock(&n->re->mu);
    bool pushed = !n->re->dead;
    if (pushed) {
      if (n->re->tail) n->re->tail->next = it;
      else n->re->head = it;
      n->re->tail = it;
      relay_wake(n->re);
    }
    pthread_mutex_unlock(&n->re->mu);
    if (pushed) return;
    free(it);
  }
  n->free_when_idle = true; /* the last delivery frees it */
}

/* The environment is being freed (its instance data's finalizer, on the JS thread): the relay
 * dies and its handle closes (see Lifetime above). Callbacks that were never closed keep their
 * closures: C code may still call them, and then gets zero. */
void cffi_threads_env_cleanup(cffi_env_t *st) {
  relay_t *re = st->threads;
  if (!re) return;
  st->threads = NULL;
  pthread_mutex_lock(&re->mu);
  re->dead = true;
  item_t *list = re->head;
  re->head = re->tail = NULL;
  pthread_mutex_unlock(&re->mu);
  for (node_t *n = re->live; n; n = n->next) n->cb->fn = NULL; /* the environment deletes its references itself */
  deliver_list(NULL, list); /* no JS: releases blocked callers with zero, frees the rest */
  for (node_t *n = re->live; n; n = n->next) __atomic_store_n(&n->cb->st, &dead_env, __ATOMIC_RELEASE);
  if (re->actx) napi_async_destroy(st->env, re->actx);
  re->actx = NULL;
  /* Node runs the loop once more before closing it (a Worker's), which calls relay_closed */
  uv_close((uv_handle_t *)&re->wake, relay_closed);
}
