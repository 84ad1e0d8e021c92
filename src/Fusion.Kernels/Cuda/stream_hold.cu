// Holds a stream for a while: one thread waits until the GPU's nanosecond clock (%globaltimer) has advanced
// by `nanoseconds`. Timing code queues it in front of the work it measures, so the host has enqueued all of
// that work (and its closing event) before the GPU reaches it: the events then measure the GPU alone, not
// the host's launch overhead, which otherwise dominates kernels of a few microseconds.
#include "prelude.cuh"

FUSION_DEVICE unsigned long long hold_clock()
{
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

extern "C" __global__ void fusion_stream_hold(unsigned long long nanoseconds)
{
    const unsigned long long start = hold_clock();
    while (hold_clock() - start < nanoseconds)
        asm volatile("nanosleep.u32 1000;");
}
