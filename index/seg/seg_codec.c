/*
 * seg_codec.c: the integer block codec and the length norms.
 *
 * Block codec 1 (SEG_CODEC_BP128). A full postings block holds 128 doc-id gaps and 128
 * (tf - 1) values, each group packed at one bit width b (0..32): value i occupies bits
 * [i*b, i*b + b) of a little-endian bit stream of 16*b bytes. Example, b = 3 and values
 * 5, 1, 7, ...: byte 0 = 0b11 001 101 (bits of values 0, 1 and the low bits of 2).
 * A short run of n < 128 values (a list's tail block) is the same stream cut after its
 * last value: ceil(n*b/8) bytes, the unused high bits of the last byte 0 (seg_pack,
 * seg_unpack).
 *
 * Decoding is the hot loop of every query, so seg_unpack128 dispatches on b to a copy of the
 * loop specialized for that width (the compiler unrolls it and turns every shift and mask into
 * a constant): per value one unaligned 8-byte load, a shift and a mask. A load that would
 * cross the end of the block reads only the bytes that exist, so the decoder never touches
 * memory past 16*b bytes. bench_seg measures it; a SIMD codec (SIMD-BP128, streamvbyte) can
 * replace it later under a new codec number in the segment header.
 *
 * Norms: a field's token count in one byte, as Lucene's SmallFloat.intToByte4: counts below 24
 * are exact, larger ones keep 4 significant bits (1 implicit + 3 stored) and are rounded down,
 * so decode(encode(n)) <= n < decode(encode(n) + 1) and both directions are monotonic.
 */
#include <string.h>

#include "seg_int.h"

uint64_t seg_varint_ends(const uint8_t *p, size_t len)
{
    uint64_t n = 0;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        n += seg_varint_ends8(w);
    }
    for (; i < len; i++) {
        n += !(p[i] & 0x80);
    }
    return n;
}

unsigned seg_bits_max(const uint32_t *v, size_t n)
{
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= v[i];
    }
    return acc ? 32u - (unsigned)__builtin_clz(acc) : 0u;
}

size_t seg_pack(const uint32_t *in, uint32_t n, unsigned bits, uint8_t *out)
{
    size_t len = seg_packed_len(n, bits);
    memset(out, 0, len);
    if (bits == 0) {
        return 0;
    }
    uint64_t acc = 0;
    unsigned have = 0;
    size_t o = 0;
    for (uint32_t i = 0; i < n; i++) {
        acc |= (uint64_t)in[i] << have;
        have += bits;
        while (have >= 8) {
            out[o++] = (uint8_t)acc;
            acc >>= 8;
            have -= 8;
        }
    }
    if (have > 0) {
        out[o] = (uint8_t)acc; /* a tail's last, partial byte: the high bits stay 0 */
    }
    return len;
}

/* The 8 bytes of the packed block [in, in + len) that hold bit `bit` onward, zero-padded past
 * the end (width 0 has len 0: nothing is read). Shared by both unpack loops. */
static inline __attribute__((always_inline)) uint64_t load_window(const uint8_t *in, size_t len,
                                                                 size_t bit)
{
    size_t byte = bit >> 3;
    uint64_t w = 0;
    if (byte + 8 <= len) {
        memcpy(&w, in + byte, 8);
    } else if (byte < len) {
        memcpy(&w, in + byte, len - byte);
    }
    return w;
}

/* The specialized loop: `bits` is a constant in every copy the switch below instantiates. */
static inline __attribute__((always_inline)) void unpack_width(const uint8_t *in, uint32_t *out,
                                                               const unsigned bits)
{
    const size_t len = 16u * bits;
    const uint64_t mask = (bits == 32) ? 0xffffffffu : ((1u << bits) - 1u);
#pragma GCC unroll 128
    for (unsigned i = 0; i < SEG_BLOCK; i++) {
        size_t bit = (size_t)i * bits;
        out[i] = (uint32_t)((load_window(in, len, bit) >> (bit & 7)) & mask);
    }
}

/* The same loop turning gaps into doc ids: out[i] = next + gap, next = out[i] + 1. Fusing
 * the prefix sum into the unpack keeps the running sum in a register. */
static inline __attribute__((always_inline)) uint64_t
unpack_gaps_width(const uint8_t *in, uint32_t *out, uint64_t next, const unsigned bits)
{
    const size_t len = 16u * bits;
    const uint64_t mask = (bits == 32) ? 0xffffffffu : ((1u << bits) - 1u);
#pragma GCC unroll 128
    for (unsigned i = 0; i < SEG_BLOCK; i++) {
        size_t bit = (size_t)i * bits;
        next += (load_window(in, len, bit) >> (bit & 7)) & mask;
        out[i] = (uint32_t)next;
        next++;
    }
    return next;
}

#define GAPS_CASE(b)                                                                               \
    case b:                                                                                        \
        return unpack_gaps_width(in, out, next, b);

uint64_t seg_unpack128_gaps(const uint8_t *in, unsigned bits, uint32_t *out, uint64_t next)
{
    switch (bits) {
        GAPS_CASE(0)
        GAPS_CASE(1)
        GAPS_CASE(2)
        GAPS_CASE(3)
        GAPS_CASE(4)
        GAPS_CASE(5)
        GAPS_CASE(6)
        GAPS_CASE(7)
        GAPS_CASE(8)
        GAPS_CASE(9)
        GAPS_CASE(10)
        GAPS_CASE(11)
        GAPS_CASE(12)
        GAPS_CASE(13)
        GAPS_CASE(14)
        GAPS_CASE(15)
        GAPS_CASE(16)
        GAPS_CASE(17)
        GAPS_CASE(18)
        GAPS_CASE(19)
        GAPS_CASE(20)
        GAPS_CASE(21)
        GAPS_CASE(22)
        GAPS_CASE(23)
        GAPS_CASE(24)
        GAPS_CASE(25)
        GAPS_CASE(26)
        GAPS_CASE(27)
        GAPS_CASE(28)
        GAPS_CASE(29)
        GAPS_CASE(30)
        GAPS_CASE(31)
    default:
        return unpack_gaps_width(in, out, next, 32);
    }
}

#define UNPACK_CASE(b)                                                                             \
    case b:                                                                                        \
        unpack_width(in, out, b);                                                                  \
        return;

void seg_unpack128(const uint8_t *in, unsigned bits, uint32_t *out)
{
    switch (bits) {
    case 0:
        memset(out, 0, SEG_BLOCK * sizeof *out);
        return;
        UNPACK_CASE(1)
        UNPACK_CASE(2)
        UNPACK_CASE(3)
        UNPACK_CASE(4)
        UNPACK_CASE(5)
        UNPACK_CASE(6)
        UNPACK_CASE(7)
        UNPACK_CASE(8)
        UNPACK_CASE(9)
        UNPACK_CASE(10)
        UNPACK_CASE(11)
        UNPACK_CASE(12)
        UNPACK_CASE(13)
        UNPACK_CASE(14)
        UNPACK_CASE(15)
        UNPACK_CASE(16)
        UNPACK_CASE(17)
        UNPACK_CASE(18)
        UNPACK_CASE(19)
        UNPACK_CASE(20)
        UNPACK_CASE(21)
        UNPACK_CASE(22)
        UNPACK_CASE(23)
        UNPACK_CASE(24)
        UNPACK_CASE(25)
        UNPACK_CASE(26)
        UNPACK_CASE(27)
        UNPACK_CASE(28)
        UNPACK_CASE(29)
        UNPACK_CASE(30)
        UNPACK_CASE(31)
    default: /* 32: callers reject larger widths */
        unpack_width(in, out, 32);
        return;
    }
}

/* Tails are at most one block per term, so one loop serves every width, the width a
 * variable. Most tails are a few values, so the last windows, which would pass the end, are
 * put together byte by byte rather than by a variable-length memcpy (a libc call). */
void seg_unpack(const uint8_t *in, uint32_t n, unsigned bits, uint32_t *out)
{
    const size_t len = seg_packed_len(n, bits);
    const uint64_t mask = bits >= 32 ? 0xffffffffu : ((1u << bits) - 1u);
    uint32_t i = 0;
    size_t bit = 0;
    for (; i < n && (bit >> 3) + 8 <= len; i++, bit += bits) {
        uint64_t w;
        memcpy(&w, in + (bit >> 3), 8);
        out[i] = (uint32_t)((w >> (bit & 7)) & mask);
    }
    for (; i < n; i++, bit += bits) {
        uint64_t w = 0;
        for (size_t k = bit >> 3; k < len; k++) {
            w |= (uint64_t)in[k] << (8 * (k - (bit >> 3)));
        }
        out[i] = (uint32_t)((w >> (bit & 7)) & mask);
    }
}

/* ---- norms ---- */

#define NORM_FREE 24u /* counts below this are stored exactly */

static uint32_t int4_encode(uint32_t v)
{
    if (v < 8) {
        return v;
    }
    unsigned nbits = 32u - (unsigned)__builtin_clz(v);
    unsigned shift = nbits - 4;
    return ((v >> shift) & 7u) | ((shift + 1) << 3);
}

static uint64_t int4_decode(uint32_t e)
{
    uint64_t bits = e & 7u;
    unsigned shift = e >> 3;
    return shift == 0 ? bits : (bits | 8u) << (shift - 1);
}

uint8_t seg_norm_encode(uint32_t len)
{
    if (len < NORM_FREE) {
        return (uint8_t)len;
    }
    uint32_t e = NORM_FREE + int4_encode(len - NORM_FREE);
    return (uint8_t)(e > 255 ? 255 : e);
}

uint32_t seg_norm_decode(uint8_t norm)
{
    if (norm < NORM_FREE) {
        return norm;
    }
    uint64_t v = NORM_FREE + int4_decode(norm - NORM_FREE);
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}
