/*
 * cpu.h - what a spinning thread tells the processor.
 *
 * One copy for every spin loop in the tree (FICM, RFcom, RFloop, librf,
 * rfbench): a pause hint where the architecture has one, nothing where it
 * has not, so the code still builds elsewhere.
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

#endif
