/*
 * cpu.h - what a spinning thread tells the processor.
 *
 * One copy for every spin loop in the tree (FICM, RFcom, RFloop, librf,
 * rfbench): a pause hint where the architecture has one, nothing where it
 * has not, so the code still builds elsewhere; and the settle FICM's
 * sender does after publishing, before it polls.
 */
#ifndef RF_BASE_CPU_H
#define RF_BASE_CPU_H

/* Tell the core this thread is spinning (x86 PAUSE, arm64 YIELD). */
static inline void base_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* Let every earlier instruction of this thread finish before any later one
 * starts (x86 LFENCE; nothing elsewhere).  FICM's commit ends with it: see
 * src/ficm/ring.c for what it buys a sender that polls next. */
static inline void base_cpu_settle(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_lfence();
#endif
}

#endif
