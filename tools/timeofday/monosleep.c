/* Preloaded before libfaketime: clock_nanosleep on a clock libfaketime does not fake
   (CLOCK_MONOTONIC with FAKETIME_DONT_FAKE_MONOTONIC=1) goes straight to the kernel.
   libfaketime 0.9.10 converts a TIMER_ABSTIME monotonic deadline by the fake offset even
   when monotonic is not faked -> EINVAL (Python 3.11's time.sleep uses exactly that). */
#define _GNU_SOURCE
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <dlfcn.h>
#include <errno.h>
int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem) {
  if (clk == CLOCK_MONOTONIC || clk == CLOCK_MONOTONIC_RAW || clk == CLOCK_BOOTTIME) {
    long r = syscall(SYS_clock_nanosleep, clk, flags, req, rem);
    return r == 0 ? 0 : errno;
  }
  static int (*next)(clockid_t, int, const struct timespec *, struct timespec *);
  if (!next) next = dlsym(RTLD_NEXT, "clock_nanosleep");
  return next(clk, flags, req, rem);
}
