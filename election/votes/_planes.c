/*
 * Native fused kernel for the master's packed majority (election/votes/majority.py).
 *
 * Inputs are bit-planes: C-contiguous arrays of uint64 words whose bit b of word w belongs to
 * coordinate 64 w + b. Plane i carries weight 2^shift[i]. Per coordinate the kernel forms
 *
 *     T = sum_i 2^shift[i] * plane_i        (bit-sliced, in registers)
 *
 * and writes  neg = (T > K)  and, when asked,  zero = (T == K).  majority.py maps the vote
 * majority onto this: dense votes T = N (#negatives), K = floor(m/2); ternary votes
 * T = 2N + Z, K = m (see that module's docstring; Sohn et al. 2020, section 2).
 *
 * Unlike the numpy executor of the same computation (circuit.py: one pass over memory per
 * gate), the counter lives in vector registers: every plane is read exactly once and nothing
 * else touches memory: every input byte is read once and every output byte written once
 * (`election bench votes` reports its GB/s as a fraction of stream_read below, a plain read of
 * the same buffers in the same run; BENCHMARKS.md has the figures). Each step takes
 * one whole 64-byte cache line (STEP words) of every plane: planes allocated separately sit at
 * the same offset in their pages, hence in the same L1 set, and a line read half at a time is
 * evicted before its second half is used. Planes of equal weight 2^s enter in blocks of 8
 * (then 4, 2, 1) through a carry-save tree of full adders (5 ops each) that take the counter
 * bit of their weight as third input; the one carry out of a block ripples up through half
 * adders  t = c_k & x; c_k ^= x; x = t. The counter width K_BITS is a compile-time constant
 * per instantiation (1..MAX_BITS) so that the counter is fully unrolled into registers. The
 * zero output's set bits are counted in the same pass (every entry point returns the count).
 * m dense votes (every input a weight-1 sign plane, the common case) take kernels specialised
 * per m instead (DENSE_MAX below states what they assume and why they are faster).
 *
 *     threshold(inputs, shifts, k, neg, zero, n_words) -> zero_bits
 *
 * inputs: sequence of buffers of n_words uint64 words each (the last word may be partial: an
 * input may end up to 7 bytes early, the missing bytes read as 0); shifts: bytes, one per input;
 * k: the threshold; neg: writable buffer; zero: writable buffer or None; zero_bits: the number
 * of set bits written to zero (0 for None). The GIL is released while the kernel runs.
 *
 * The quorum decoder (output s = sign(P - N) only if at least q votes equal s, else 0) has two
 * more entry points over the same counter (election/votes/circuit.py states both forms):
 *
 *     band(inputs, shifts, k_lo, k_hi, neg, zero, n_words) -> zero_bits
 *         neg = (T > k_hi), zero = (k_lo <= T <= k_hi)
 *     quorum(inputs, shifts, groups, m, q, neg, zero, n_words) -> zero_bits
 *
 * band is the dense case (T = N: -1 iff N > k_hi, +1 iff N < k_lo). quorum keeps two counters,
 * N (inputs of group 0: the sign planes) and Z (group 1: zero planes or zero-count planes),
 * forms S = N + Z and T = 2N + Z = N + S with ripple-carry adders in registers, and writes
 * neg = (T > m) & (N >= q), pos = (T < m) & (S <= m - q), zero = ~(neg | pos)
 * (P = m - N - Z, so T > m <=> N > P and S <= m - q <=> P >= q).
 *
 * Also the two zero-plane codecs of election/votes/packed.py (mask <-> sorted uint32 indices),
 * word at a time instead of numpy's unpack-to-bytes: mask_to_indices, indices_to_mask; and
 * count_indices, which sums many sparse zero lists into a few counter planes for threshold().
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the packed layout is read as little-endian words; use the numpy executor on this host"
#endif

#define MAX_BITS 16 /* T < 2^16: up to 65,535 weighted planes, far beyond any cluster */
#define MAX_SHIFT 7 /* plane weights 1 .. 128: votes use 1 and 2, count_indices planes more */
#define N_SHIFTS (MAX_SHIFT + 1)
#define N_SLOTS (2 * N_SHIFTS) /* (group, shift): group 0 = sign planes, 1 = zero counts */
#define LANES 4     /* words per vector: one AVX2 register, two SSE2 registers */
#ifndef HALVES
#define HALVES 2    /* vectors per plane per step: 2 x 32 B = one whole 64-byte cache line */
#endif
#define STEP (HALVES * LANES) /* words per plane per step */
#define TREE_MAX_BITS 8 /* counters up to 8 bits add their planes through carry-save trees */
#ifndef PREFETCH_WORDS
#define PREFETCH_WORDS 64 /* 8 cache lines ahead per plane: best of 16..1024 on the dev VM */
#endif
#ifndef PREFETCH_HINT
#define PREFETCH_HINT 0
#endif

typedef uint64_t vec_t __attribute__((vector_size(LANES * sizeof(uint64_t))));

/* On x86-64 each kernel is compiled twice, AVX2 and baseline SSE2, and the loader picks one per
 * CPU (GCC/Clang function multiversioning); elsewhere, or with -DELECTION_NO_MULTIVERSION (the
 * tests build the baseline that way), the compiler's default vector ISA. */
#if defined(__x86_64__) && !defined(ELECTION_NO_MULTIVERSION)
#define MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define MULTIVERSION
#endif

/* Unaligned-safe vector load/store (memcpy compiles to one vector move). Macros, not
 * functions: a vec_t passed by value across the avx2/default clones would change the ABI. */
#define LOAD_VEC(dst, src) memcpy(&(dst), (src), sizeof(vec_t))
#define STORE_VEC(dst, src) memcpy((dst), &(src), sizeof(vec_t))

/* Every value below is HALVES vectors: the words w .. w + STEP of one plane (one cache line,
 * so that every line is used whole as soon as it is loaded: the planes usually sit at the same
 * offset in their pages, hence in one L1 set, and a line loaded for half its words would be
 * evicted before the other half is read). FOR_H(stmt) runs stmt for h = 0 .. HALVES-1. */
#define FOR_H for (int h = 0; h < HALVES; h++)

/* x enters the counter C at bit S: a ripple of half adders  t = c_i & x; c_i ^= x; x = t. */
#define RIPPLE(C, S, BITS, x)                                                   \
    for (int i_ = (S); i_ < (BITS); i_++) FOR_H {                               \
            const vec_t t_ = C[i_][h] & (x)[h];                                 \
            C[i_][h] ^= (x)[h];                                                 \
            (x)[h] = t_;                                                        \
        }

/* c (counter bit L) += x + y: s = c ^ x ^ y, carry = (c & x) | (y & (c ^ x)) (5 ops). At a bit
 * L >= BITS nothing happens: every partial sum fits BITS bits, so x, y and the carry are 0. */
#define FULL_ADD(C, L, BITS, x, y, carry)                                       \
    vec_t carry[HALVES] = {{0}};                                                \
    if ((L) < (BITS)) FOR_H {                                                   \
            const vec_t t_ = C[L][h] ^ (x)[h];                                  \
            carry[h] = (C[L][h] & (x)[h]) | ((y)[h] & t_);                      \
            C[L][h] = t_ ^ (y)[h];                                              \
        }

#define LOAD_PLANE(x, J)                                                        \
    vec_t x[HALVES];                                                            \
    FOR_H LOAD_VEC(x[h], p[J] + w + h * LANES);

/* Blocks of 2, 4 and 8 planes of weight 2^S (p[j..]) into the counter: a carry-save tree whose
 * full adders take the counter bit of their weight as third input (8 planes: 7 full adders,
 * against 7 full adders and 7 carry ripples pair by pair), and the one carry out of the tree
 * rippled up from bit S + log2(block). */
#define ADD_2(C, S, BITS)                                                       \
    {                                                                           \
        LOAD_PLANE(x0, j) LOAD_PLANE(x1, j + 1)                                 \
        FULL_ADD(C, S, BITS, x0, x1, a0)                                        \
        RIPPLE(C, (S) + 1, BITS, a0)                                            \
    }
#define ADD_4(C, S, BITS)                                                       \
    {                                                                           \
        LOAD_PLANE(x0, j) LOAD_PLANE(x1, j + 1)                                 \
        FULL_ADD(C, S, BITS, x0, x1, a0)                                        \
        LOAD_PLANE(x2, j + 2) LOAD_PLANE(x3, j + 3)                             \
        FULL_ADD(C, S, BITS, x2, x3, a1)                                        \
        FULL_ADD(C, (S) + 1, BITS, a0, a1, b0)                                  \
        RIPPLE(C, (S) + 2, BITS, b0)                                            \
    }
#define ADD_8(C, S, BITS)                                                       \
    {                                                                           \
        LOAD_PLANE(x0, j) LOAD_PLANE(x1, j + 1)                                 \
        FULL_ADD(C, S, BITS, x0, x1, a0)                                        \
        LOAD_PLANE(x2, j + 2) LOAD_PLANE(x3, j + 3)                             \
        FULL_ADD(C, S, BITS, x2, x3, a1)                                        \
        FULL_ADD(C, (S) + 1, BITS, a0, a1, b0)                                  \
        LOAD_PLANE(x4, j + 4) LOAD_PLANE(x5, j + 5)                             \
        FULL_ADD(C, S, BITS, x4, x5, a2)                                        \
        LOAD_PLANE(x6, j + 6) LOAD_PLANE(x7, j + 7)                             \
        FULL_ADD(C, S, BITS, x6, x7, a3)                                        \
        FULL_ADD(C, (S) + 1, BITS, a2, a3, b1)                                  \
        FULL_ADD(C, (S) + 2, BITS, b0, b1, c0)                                  \
        RIPPLE(C, (S) + 3, BITS, c0)                                            \
    }

/* The planes of slot SLOT (weight 2^S) into the counter C. Weights 1 and 2 (the votes' sign
 * and zero planes, many per slot): blocks of 8, then one block of 4, 2 and 1 as the remainder's
 * bits say. Higher weights (count_indices planes, one per weight) and counters wider than
 * TREE_MAX_BITS (over 255 planes; rare, and the trees would multiply the compile time): a
 * ripple per plane. */
#define ADD_GROUP(C, SLOT, S, BITS)                                             \
    if ((S) < (BITS) && count[SLOT] > 0) {                                      \
        const uint64_t *const *p = in + first[SLOT];                            \
        const Py_ssize_t m = count[SLOT];                                       \
        Py_ssize_t j = 0;                                                       \
        if ((S) < 2 && (BITS) <= TREE_MAX_BITS) {                               \
            for (; j + 8 <= m; j += 8) ADD_8(C, S, BITS)                        \
            if (m - j >= 4) {                                                   \
                ADD_4(C, S, BITS)                                               \
                j += 4;                                                         \
            }                                                                   \
            if (m - j >= 2) {                                                   \
                ADD_2(C, S, BITS)                                               \
                j += 2;                                                         \
            }                                                                   \
        }                                                                       \
        for (; j < m; j++) {                                                    \
            LOAD_PLANE(x0, j)                                                   \
            RIPPLE(C, S, BITS, x0)                                              \
        }                                                                       \
    }

/* Every weight of group G (slots G * N_SHIFTS + s) into the counter C. */
#define COUNT_GROUP(C, G, BITS)                                                 \
    vec_t C[BITS][HALVES];                                                      \
    for (int i = 0; i < (BITS); i++) FOR_H C[i][h] = (vec_t){0};                \
    ADD_GROUP(C, (G) * N_SHIFTS + 0, 0, BITS)                                   \
    ADD_GROUP(C, (G) * N_SHIFTS + 1, 1, BITS)                                   \
    ADD_GROUP(C, (G) * N_SHIFTS + 2, 2, BITS)                                   \
    ADD_GROUP(C, (G) * N_SHIFTS + 3, 3, BITS)                                   \
    ADD_GROUP(C, (G) * N_SHIFTS + 4, 4, BITS)                                   \
    ADD_GROUP(C, (G) * N_SHIFTS + 5, 5, BITS)                                   \
    ADD_GROUP(C, (G) * N_SHIFTS + 6, 6, BITS)                                   \
    ADD_GROUP(C, (G) * N_SHIFTS + 7, 7, BITS)

/* The constant K < 2^BITS as BITS all-ones-or-zero vectors (hoisted out of the loop). */
#define CONST_BITS(KB, K, BITS)                                                 \
    vec_t KB[BITS];                                                             \
    for (int i = 0; i < (BITS); i++) KB[i] = (((K) >> i) & 1) ? ~(vec_t){0} : (vec_t){0};

/* OUT |= (C > K) if GREATER else (C < K), and EQ = (C == K), for a BITS-bit counter C and a
 * constant K (its bit vectors KB), most significant bit first: at bit i,
 * out |= eq & (c_i & ~k_i  or  ~c_i & k_i); eq &= ~(c_i ^ k_i). */
#define COMPARE_TO(C, BITS, KB, GREATER, OUT, EQ)                               \
    vec_t EQ[HALVES];                                                           \
    FOR_H EQ[h] = ~(vec_t){0};                                                  \
    for (int i = (BITS) - 1; i >= 0; i--) FOR_H {                               \
            OUT[h] |= EQ[h] & ((GREATER) ? C[i][h] & ~KB[i] : ~C[i][h] & KB[i]); \
            EQ[h] &= ~(C[i][h] ^ KB[i]);                                        \
        }

/* OUT = A + (B << B_SHIFT) mod 2^BITS, ripple-carry (B_SHIFT is 0 or 1). */
#define ADD_COUNTERS(OUT, A, B, B_SHIFT, BITS)                                  \
    vec_t OUT[BITS][HALVES];                                                    \
    FOR_H {                                                                     \
        vec_t carry_ = {0};                                                     \
        for (int i = 0; i < (BITS); i++) {                                      \
            const vec_t b_ = i >= (B_SHIFT) ? B[i - (B_SHIFT)][h] : (vec_t){0}; \
            const vec_t x_ = A[i][h] ^ b_;                                      \
            OUT[i][h] = x_ ^ carry_;                                            \
            carry_ = (A[i][h] & b_) | (carry_ & x_);                            \
        }                                                                       \
    }

#define PREFETCH_ALL()                                                          \
    if (PREFETCH_WORDS > 0 && w + PREFETCH_WORDS < n_steps * STEP)              \
        for (Py_ssize_t j = 0; j < n_in; j++)                                   \
            __builtin_prefetch(in[j] + w + PREFETCH_WORDS, 0, PREFETCH_HINT);

#define STORE_OUT(DST, V) FOR_H STORE_VEC((DST) + w + h * LANES, (V)[h]);

#define VEC_ZERO(V) vec_t V[HALVES] = {{0}};

/* The zero output's set bits are counted in the same pass (majority.py picks the result's zero
 * encoding by that count, which would otherwise take another pass over the output): per byte
 * a SWAR popcount (x - (x>>1 & 0x55..), then pairs, then nibbles), summed bytewise into
 * ACC8; every FLUSH_STEPS steps (HALVES * 8 * FLUSH_STEPS <= 255: no byte overflows) the bytes
 * are summed into 64-bit lanes and ACC8 restarts. */
#define FLUSH_STEPS 15
_Static_assert(HALVES * 8 * FLUSH_STEPS <= 255, "the zero count's byte counters would overflow");
#define SPLAT(c) ((vec_t){0} + (uint64_t)(c))
#define POPCOUNT_BYTES(x)                                                       \
    ({                                                                          \
        vec_t p_ = (x) - (((x) >> 1) & SPLAT(0x5555555555555555ULL));           \
        p_ = (p_ & SPLAT(0x3333333333333333ULL)) + ((p_ >> 2) & SPLAT(0x3333333333333333ULL)); \
        (p_ + (p_ >> 4)) & SPLAT(0x0f0f0f0f0f0f0f0fULL);                        \
    })
#define SUM_BYTES(acc8)                                                         \
    ({                                                                          \
        vec_t s_ = ((acc8) & SPLAT(0x00ff00ff00ff00ffULL)) +                    \
                   (((acc8) >> 8) & SPLAT(0x00ff00ff00ff00ffULL));              \
        s_ = (s_ & SPLAT(0x0000ffff0000ffffULL)) + ((s_ >> 16) & SPLAT(0x0000ffff0000ffffULL)); \
        s_ = (s_ & SPLAT(0xffffffffULL)) + (s_ >> 32);                          \
        uint64_t t_ = 0;                                                        \
        for (int i_ = 0; i_ < LANES; i_++) t_ += s_[i_];                        \
        t_;                                                                     \
    })

/* Store Z (HALVES vectors) as the zero output, if asked for, and count its bits. */
#define STORE_ZERO(Z)                                                           \
    if (zero != NULL) {                                                         \
        STORE_OUT(zero, Z)                                                      \
        FOR_H acc8 += POPCOUNT_BYTES((Z)[h]);                                   \
    }

/* The step loop: w = 0, STEP, ... < n_steps * STEP, in runs of FLUSH_STEPS steps. */
#define FOR_STEPS(BODY)                                                         \
    uint64_t zero_bits = 0;                                                     \
    for (Py_ssize_t w0 = 0; w0 < n_steps * STEP; w0 += FLUSH_STEPS * STEP) {    \
        const Py_ssize_t w_end = w0 + FLUSH_STEPS * STEP < n_steps * STEP       \
                                     ? w0 + FLUSH_STEPS * STEP                  \
                                     : n_steps * STEP;                          \
        vec_t acc8 = {0};                                                       \
        for (Py_ssize_t w = w0; w < w_end; w += STEP) {                         \
            PREFETCH_ALL()                                                      \
            BODY                                                                \
        }                                                                       \
        zero_bits += SUM_BYTES(acc8);                                           \
    }                                                                           \
    return zero_bits;

/* in: the planes sorted by (group, weight); those of slot g * N_SHIFTS + s (weight 2^s) are
 * in[first[slot] .. first[slot] + count[slot]). k0, k1: threshold: k; band: k_lo, k_hi;
 * quorum: m, q. n_steps: words / STEP. Returns the number of set bits written to zero (0
 * when zero is NULL). */
#define KERNEL_ARGS                                                                         \
    const uint64_t *const *in, const Py_ssize_t *first, const Py_ssize_t *count,            \
        Py_ssize_t n_in, uint64_t k0, uint64_t k1, uint64_t *neg, uint64_t *zero,           \
        Py_ssize_t n_steps

#define THRESHOLD_STEP(BITS)                                                                \
    COUNT_GROUP(c, 0, BITS)                                                                 \
    VEC_ZERO(gt)                                                                            \
    COMPARE_TO(c, BITS, kb, 1, gt, eq)                                                      \
    STORE_OUT(neg, gt)                                                                      \
    STORE_ZERO(eq)

/* The band's compare and stores on the counter c (shared by the general and dense kernels). */
#define BAND_FINISH(BITS)                                                                   \
    VEC_ZERO(gt)                                                                            \
    VEC_ZERO(lt)                                                                            \
    COMPARE_TO(c, BITS, kb_hi, 1, gt, eq_hi)                                                \
    COMPARE_TO(c, BITS, kb_lo, 0, lt, eq_lo)                                                \
    (void)eq_hi;                                                                            \
    (void)eq_lo;                                                                            \
    STORE_OUT(neg, gt)                                                                      \
    vec_t z[HALVES];                                                                        \
    FOR_H z[h] = ~(gt[h] | lt[h]);                                                          \
    STORE_ZERO(z)

#define BAND_STEP(BITS)                                                                     \
    COUNT_GROUP(c, 0, BITS)                                                                 \
    BAND_FINISH(BITS)

#define QUORUM_STEP(BITS)                                                                   \
    COUNT_GROUP(cn, 0, BITS)                                                                \
    COUNT_GROUP(cz, 1, BITS)                                                                \
    ADD_COUNTERS(s, cz, cn, 0, BITS) /* S = N + Z */                                        \
    ADD_COUNTERS(t, s, cn, 0, BITS)  /* T = 2N + Z */                                       \
    VEC_ZERO(t_gt)                                                                          \
    VEC_ZERO(t_lt)                                                                          \
    VEC_ZERO(n_ge)                                                                          \
    VEC_ZERO(s_gt)                                                                          \
    COMPARE_TO(t, BITS, kb_m, 1, t_gt, e0)                                                  \
    COMPARE_TO(t, BITS, kb_m, 0, t_lt, e1)                                                  \
    COMPARE_TO(cn, BITS, kb_q1, 1, n_ge, e2) /* N > q - 1 */                                \
    COMPARE_TO(s, BITS, kb_mq, 1, s_gt, e3)  /* S > m - q */                                \
    (void)e0, (void)e1, (void)e2, (void)e3;                                                 \
    vec_t out_neg[HALVES], z[HALVES];                                                       \
    FOR_H {                                                                                 \
        out_neg[h] = t_gt[h] & n_ge[h];                                                     \
        z[h] = ~(out_neg[h] | (t_lt[h] & ~s_gt[h]));                                        \
    }                                                                                       \
    STORE_OUT(neg, out_neg)                                                                 \
    STORE_ZERO(z)

#define DEFINE_KERNEL(BITS)                                                                 \
    MULTIVERSION static uint64_t kernel_##BITS(KERNEL_ARGS) {                               \
        CONST_BITS(kb, k0, BITS)                                                            \
        (void)k1;                                                                           \
        FOR_STEPS(THRESHOLD_STEP(BITS))                                                     \
    }                                                                                       \
    MULTIVERSION static uint64_t band_##BITS(KERNEL_ARGS) {                                 \
        CONST_BITS(kb_lo, k0, BITS)                                                         \
        CONST_BITS(kb_hi, k1, BITS)                                                         \
        FOR_STEPS(BAND_STEP(BITS))                                                          \
    }                                                                                       \
    MULTIVERSION static uint64_t quorum_##BITS(KERNEL_ARGS) {                               \
        CONST_BITS(kb_m, k0, BITS)                                                          \
        CONST_BITS(kb_q1, k1 - 1, BITS)                                                     \
        CONST_BITS(kb_mq, k0 - k1, BITS)                                                    \
        FOR_STEPS(QUORUM_STEP(BITS))                                                        \
    }

DEFINE_KERNEL(1)
DEFINE_KERNEL(2)
DEFINE_KERNEL(3)
DEFINE_KERNEL(4)
DEFINE_KERNEL(5)
DEFINE_KERNEL(6)
DEFINE_KERNEL(7)
DEFINE_KERNEL(8)
DEFINE_KERNEL(9)
DEFINE_KERNEL(10)
DEFINE_KERNEL(11)
DEFINE_KERNEL(12)
DEFINE_KERNEL(13)
DEFINE_KERNEL(14)
DEFINE_KERNEL(15)
DEFINE_KERNEL(16)

typedef uint64_t (*kernel_fn)(KERNEL_ARGS);

enum { MODE_THRESHOLD = 0, MODE_BAND = 1, MODE_QUORUM = 2, N_MODES = 3 };

static const kernel_fn KERNELS[N_MODES][MAX_BITS + 1] = {
    {NULL, kernel_1, kernel_2, kernel_3, kernel_4, kernel_5, kernel_6, kernel_7, kernel_8,
     kernel_9, kernel_10, kernel_11, kernel_12, kernel_13, kernel_14, kernel_15, kernel_16},
    {NULL, band_1, band_2, band_3, band_4, band_5, band_6, band_7, band_8, band_9, band_10,
     band_11, band_12, band_13, band_14, band_15, band_16},
    {NULL, quorum_1, quorum_2, quorum_3, quorum_4, quorum_5, quorum_6, quorum_7, quorum_8,
     quorum_9, quorum_10, quorum_11, quorum_12, quorum_13, quorum_14, quorum_15, quorum_16},
};

/* Dense specialisation: the common case of m dense votes (no abstention among the inputs, no
 * zero planes, no zero-count planes, no masks): every input is a sign plane of weight 1, so
 * T = N = the number of negative votes, the plain majority is threshold(k = floor(m/2)) and the
 * dense quorum decoder is band(k_lo, k_hi) (election/votes/circuit.py quorum_band_form). For
 * m = 1 .. DENSE_MAX the number of planes m is a compile-time constant of its own kernel, and for
 * threshold so is k. What that buys, per loaded vector, against the general kernels above:
 *  - no per-step slot loop, block-size branches or remainder loop: the carry-save blocks of 8,
 *    4, 2, 1 planes are fully unrolled (the general kernel reads count[] every step);
 *  - the counter starts at 0 in registers, so the compiler folds the first full adder into
 *    each counter bit to a half adder (2 ops instead of 5) and the first ripple to a move;
 *  - the counter is exactly bit_length(m) bits wide (the general one is as wide as k needs);
 *  - threshold's comparison with the constant k folds: at odd m, N > floor(m/2) is the counter's
 *    top bit when m = 2^b - 1 (m = 15: no op at all), a few ops otherwise, and the equality
 *    needed for the zero plane (even m only: T == m/2 is the tie) is computed only then.
 * m = 15 takes 58 vector logic ops per 15 loaded vectors (counted in the AVX2 build) where the
 * general kernel's macros give about 95 (BENCHMARKS.md, packed majority vs the read, has what
 * that buys end to end). Anything else (other weights, groups, thresholds other than floor(m/2),
 * band limits above m, more than DENSE_MAX planes) takes the general kernels unchanged. */
#define DENSE_MAX 32 /* paper settings use m <= 15; 32 keeps the compile short */
#define BIT_LENGTH(m) ((m) < 2 ? 1 : (m) < 4 ? 2 : (m) < 8 ? 3 : (m) < 16 ? 4 : (m) < 32 ? 5 : 6)

/* The m planes in[0 .. m) (all weight 1) into a BITS-bit counter C, blocks fully unrolled. */
#define DENSE_COUNT(C, M, BITS)                                                 \
    vec_t C[BITS][HALVES];                                                      \
    for (int i = 0; i < (BITS); i++) FOR_H C[i][h] = (vec_t){0};                \
    {                                                                           \
        const uint64_t *const *p = in;                                          \
        Py_ssize_t j = 0;                                                       \
        _Pragma("GCC unroll 8") for (; j + 8 <= (M); j += 8) ADD_8(C, 0, BITS)  \
        if ((M) - j >= 4) {                                                     \
            ADD_4(C, 0, BITS)                                                   \
            j += 4;                                                             \
        }                                                                       \
        if ((M) - j >= 2) {                                                     \
            ADD_2(C, 0, BITS)                                                   \
            j += 2;                                                             \
        }                                                                       \
        if ((M) - j == 1) {                                                     \
            LOAD_PLANE(x0, j)                                                   \
            RIPPLE(C, 0, BITS, x0)                                              \
        }                                                                       \
    }

#define DENSE_THRESHOLD_STEP(M, BITS)                                                       \
    DENSE_COUNT(c, M, BITS)                                                                 \
    VEC_ZERO(gt)                                                                            \
    COMPARE_TO(c, BITS, kb, 1, gt, eq)                                                      \
    STORE_OUT(neg, gt)                                                                      \
    if ((M) % 2 == 0) {                                                                     \
        STORE_ZERO(eq)                                                                      \
    } else {                                                                                \
        (void)eq;                                                                           \
    }

#define DENSE_BAND_STEP(M, BITS)                                                            \
    DENSE_COUNT(c, M, BITS)                                                                 \
    BAND_FINISH(BITS)

/* dense_M: threshold with k = floor(M/2) (the dispatch checks k0); the zero plane (T == k) is
 * written, when asked, at even M only, where it is the majority's tie: at odd M the majority has
 * no ties and majority.py asks for none, so the equality is not even computed, and a caller that
 * asks for it at odd M takes the general kernel. dense_band_M: band, runtime k_lo, k_hi <= M. */
#define DEFINE_DENSE(M)                                                                     \
    MULTIVERSION static uint64_t dense_##M(KERNEL_ARGS) {                                   \
        CONST_BITS(kb, (uint64_t)(M) / 2, BIT_LENGTH(M))                                    \
        (void)first, (void)count, (void)k0, (void)k1;                                       \
        FOR_STEPS(DENSE_THRESHOLD_STEP(M, BIT_LENGTH(M)))                                   \
    }                                                                                       \
    MULTIVERSION static uint64_t dense_band_##M(KERNEL_ARGS) {                              \
        CONST_BITS(kb_lo, k0, BIT_LENGTH(M))                                                \
        CONST_BITS(kb_hi, k1, BIT_LENGTH(M))                                                \
        (void)first, (void)count;                                                           \
        FOR_STEPS(DENSE_BAND_STEP(M, BIT_LENGTH(M)))                                        \
    }

DEFINE_DENSE(1)
DEFINE_DENSE(2)
DEFINE_DENSE(3)
DEFINE_DENSE(4)
DEFINE_DENSE(5)
DEFINE_DENSE(6)
DEFINE_DENSE(7)
DEFINE_DENSE(8)
DEFINE_DENSE(9)
DEFINE_DENSE(10)
DEFINE_DENSE(11)
DEFINE_DENSE(12)
DEFINE_DENSE(13)
DEFINE_DENSE(14)
DEFINE_DENSE(15)
DEFINE_DENSE(16)
DEFINE_DENSE(17)
DEFINE_DENSE(18)
DEFINE_DENSE(19)
DEFINE_DENSE(20)
DEFINE_DENSE(21)
DEFINE_DENSE(22)
DEFINE_DENSE(23)
DEFINE_DENSE(24)
DEFINE_DENSE(25)
DEFINE_DENSE(26)
DEFINE_DENSE(27)
DEFINE_DENSE(28)
DEFINE_DENSE(29)
DEFINE_DENSE(30)
DEFINE_DENSE(31)
DEFINE_DENSE(32)

#define DENSE_ROW(PREFIX)                                                                   \
    {NULL, PREFIX##1, PREFIX##2, PREFIX##3, PREFIX##4, PREFIX##5, PREFIX##6, PREFIX##7,     \
     PREFIX##8, PREFIX##9, PREFIX##10, PREFIX##11, PREFIX##12, PREFIX##13, PREFIX##14,      \
     PREFIX##15, PREFIX##16, PREFIX##17, PREFIX##18, PREFIX##19, PREFIX##20, PREFIX##21,    \
     PREFIX##22, PREFIX##23, PREFIX##24, PREFIX##25, PREFIX##26, PREFIX##27, PREFIX##28,    \
     PREFIX##29, PREFIX##30, PREFIX##31, PREFIX##32}
static const kernel_fn DENSE_THRESHOLD[DENSE_MAX + 1] = DENSE_ROW(dense_);
static const kernel_fn DENSE_BAND[DENSE_MAX + 1] = DENSE_ROW(dense_band_);

/* The dense kernel for this call, or NULL for the general one: every input in group 0 with
 * weight 1, at most DENSE_MAX of them; threshold: k = floor(m/2) and no zero plane asked at odd
 * m; band: k_lo, k_hi <= m (they fit the counter's bit_length(m) bits). */
static kernel_fn dense_kernel(int mode, const Py_ssize_t *count, Py_ssize_t n_in, uint64_t k0,
                              uint64_t k1, int has_zero) {
    if (n_in < 1 || n_in > DENSE_MAX || count[0] != n_in) return NULL;
    const uint64_t m = (uint64_t)n_in;
    if (mode == MODE_THRESHOLD && k0 == m / 2 && (m % 2 == 0 || !has_zero))
        return DENSE_THRESHOLD[n_in];
    if (mode == MODE_BAND && k0 <= m && k1 <= m) return DENSE_BAND[n_in];
    return NULL;
}

/* The kernel runs over whole steps of words every input has in full; the last words (at most
 * STEP: n_words % STEP, or one step more when an input ends inside its last word) go through
 * the same kernel once more on zero-padded copies, whose own zero count would include the
 * padding words: the tail's bits are counted here. min_words: the fewest whole words of any
 * input. Returns the number of set bits written to zero. */
static uint64_t run_all(kernel_fn fn, const uint64_t *const *in, const Py_ssize_t *in_bytes,
                        const Py_ssize_t *first, const Py_ssize_t *count, Py_ssize_t n_in,
                        uint64_t k0, uint64_t k1, uint64_t *neg, uint64_t *zero,
                        Py_ssize_t n_words, Py_ssize_t min_words,
                        uint64_t *pad /* (n_in + 2) * STEP words, then n_in pointers */) {
    const Py_ssize_t n_steps = (min_words < n_words ? min_words : n_words) / STEP;
    const Py_ssize_t done = n_steps * STEP, rest = n_words - done;
    uint64_t zero_bits = fn(in, first, count, n_in, k0, k1, neg, zero, n_steps);
    if (rest == 0) return zero_bits;
    const uint64_t **tail = (const uint64_t **)(pad + (n_in + 2) * STEP);
    for (Py_ssize_t j = 0; j < n_in; j++) {
        const Py_ssize_t have = in_bytes[j] - done * (Py_ssize_t)sizeof(uint64_t);
        const Py_ssize_t want = rest * (Py_ssize_t)sizeof(uint64_t);
        memset(pad + j * STEP, 0, STEP * sizeof(uint64_t));
        memcpy(pad + j * STEP, in[j] + done, (size_t)(have < want ? have : want));
        tail[j] = pad + j * STEP;
    }
    uint64_t *tneg = pad + n_in * STEP, *tzero = pad + (n_in + 1) * STEP;
    fn(tail, first, count, n_in, k0, k1, tneg, zero ? tzero : NULL, 1);
    memcpy(neg + done, tneg, (size_t)rest * sizeof(uint64_t));
    if (zero) {
        memcpy(zero + done, tzero, (size_t)rest * sizeof(uint64_t));
        for (Py_ssize_t i = 0; i < rest; i++) zero_bits += (uint64_t)__builtin_popcountll(tzero[i]);
    }
    return zero_bits;
}

/* The shared body of threshold(), band() and quorum(): validate, sort the planes by slot
 * (group * N_SHIFTS + shift), size the counter, run the kernel with the GIL released.
 * groups: NULL (every input in group 0) or one byte per input, 0 or 1. */
static PyObject *run_kernel(int mode, PyObject *inputs, Py_buffer *shift_view,
                            Py_buffer *group_view, uint64_t k0, uint64_t k1,
                            Py_buffer *neg_view, PyObject *zero_obj, Py_ssize_t n_words) {
    PyObject *result = NULL, *seq = NULL;
    Py_buffer *views = NULL, zero_view = {0};
    const uint64_t **planes = NULL;
    uint64_t *pad = NULL;
    Py_ssize_t *in_bytes = NULL, min_words = n_words;
    Py_ssize_t n_in = 0, n_acquired = 0;
    int has_zero = zero_obj != Py_None;
    const Py_ssize_t need = n_words * (Py_ssize_t)sizeof(uint64_t);
    const uint8_t *shift = (const uint8_t *)shift_view->buf;
    const uint8_t *group = group_view ? (const uint8_t *)group_view->buf : NULL;
    uint64_t weight[2] = {0, 0};
    Py_ssize_t count[N_SLOTS] = {0}, first[N_SLOTS] = {0}, next[N_SLOTS];

    if (has_zero && PyObject_GetBuffer(zero_obj, &zero_view, PyBUF_WRITABLE) < 0) {
        has_zero = 0;
        goto done;
    }
    if (n_words < 0 || neg_view->len < need || (has_zero && zero_view.len < need)) {
        PyErr_SetString(PyExc_ValueError, "n_words is negative or an output buffer is short");
        goto done;
    }
    seq = PySequence_Fast(inputs, "inputs must be a sequence of buffers");
    if (seq == NULL) goto done;
    n_in = PySequence_Fast_GET_SIZE(seq);
    if (n_in != shift_view->len || (group_view && n_in != group_view->len)) {
        PyErr_Format(PyExc_ValueError, "%zd inputs but %zd shifts or groups", n_in,
                     shift_view->len);
        goto done;
    }
    for (Py_ssize_t j = 0; j < n_in; j++) {
        const int g = group ? group[j] : 0;
        if (shift[j] > MAX_SHIFT || g > 1) {
            PyErr_Format(PyExc_ValueError, "shift %d is above %d or group %d is not 0 or 1",
                         shift[j], MAX_SHIFT, g);
            goto done;
        }
        count[g * N_SHIFTS + shift[j]]++;
        weight[g] += (uint64_t)1 << shift[j];
    }
    /* the largest value any counter, sum or constant takes */
    uint64_t total = mode == MODE_QUORUM ? 2 * weight[0] + weight[1] : weight[0];
    if (k0 > total) total = k0;
    if (mode != MODE_THRESHOLD && k1 > total) total = k1;
    int bits = 1;
    while (bits < 64 && (total >> bits) != 0) bits++; /* bit length of total */
    if (bits > MAX_BITS) {
        PyErr_Format(PyExc_ValueError, "counter needs %d bits; at most %d", bits, MAX_BITS);
        goto done;
    }
    views = PyMem_Calloc((size_t)n_in + 1, sizeof(Py_buffer));
    planes = PyMem_Calloc((size_t)n_in + 1, sizeof(uint64_t *));
    in_bytes = PyMem_Calloc((size_t)n_in + 1, sizeof(Py_ssize_t));
    pad = PyMem_Calloc((size_t)(n_in + 2) * (STEP + 1), sizeof(uint64_t));
    if (views == NULL || planes == NULL || in_bytes == NULL || pad == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (int s = 1; s < N_SLOTS; s++) first[s] = first[s - 1] + count[s - 1];
    memcpy(next, first, sizeof next);
    for (; n_acquired < n_in; n_acquired++) {
        Py_buffer *v = &views[n_acquired];
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, n_acquired), v,
                               PyBUF_C_CONTIGUOUS) < 0)
            goto done;
        if (v->len <= need - (Py_ssize_t)sizeof(uint64_t)) { /* its last word may be partial */
            PyErr_Format(PyExc_ValueError, "input %zd is shorter than n_words words", n_acquired);
            n_acquired++;
            goto done;
        }
        const int g = group ? group[n_acquired] : 0;
        const Py_ssize_t at = next[g * N_SHIFTS + shift[n_acquired]]++;
        planes[at] = (const uint64_t *)v->buf;
        in_bytes[at] = v->len;
        const Py_ssize_t whole = v->len / (Py_ssize_t)sizeof(uint64_t);
        if (whole < min_words) min_words = whole;
    }

    uint64_t zero_bits;
    Py_BEGIN_ALLOW_THREADS
    kernel_fn fn = dense_kernel(mode, count, n_in, k0, k1, has_zero);
    if (fn == NULL) fn = KERNELS[mode][bits];
    zero_bits = run_all(fn, planes, in_bytes, first, count, n_in, k0, k1,
                        (uint64_t *)neg_view->buf, has_zero ? (uint64_t *)zero_view.buf : NULL,
                        n_words, min_words, pad);
    Py_END_ALLOW_THREADS

    result = PyLong_FromUnsignedLongLong(zero_bits);
done:
    for (Py_ssize_t j = 0; j < n_acquired; j++) PyBuffer_Release(&views[j]);
    PyMem_Free(views);
    PyMem_Free(planes);
    PyMem_Free(in_bytes);
    PyMem_Free(pad);
    Py_XDECREF(seq);
    if (has_zero) PyBuffer_Release(&zero_view);
    return result;
}

static PyObject *threshold(PyObject *self, PyObject *args) {
    PyObject *inputs, *zero_obj;
    Py_buffer shift_view, neg_view;
    unsigned long long k;
    Py_ssize_t n_words;
    (void)self;
    if (!PyArg_ParseTuple(args, "Oy*Kw*On", &inputs, &shift_view, &k, &neg_view, &zero_obj,
                          &n_words))
        return NULL;
    PyObject *result = run_kernel(MODE_THRESHOLD, inputs, &shift_view, NULL, (uint64_t)k, 0,
                                  &neg_view, zero_obj, n_words);
    PyBuffer_Release(&shift_view);
    PyBuffer_Release(&neg_view);
    return result;
}

static PyObject *band(PyObject *self, PyObject *args) {
    PyObject *inputs, *zero_obj;
    Py_buffer shift_view, neg_view;
    unsigned long long k_lo, k_hi;
    Py_ssize_t n_words;
    (void)self;
    if (!PyArg_ParseTuple(args, "Oy*KKw*On", &inputs, &shift_view, &k_lo, &k_hi, &neg_view,
                          &zero_obj, &n_words))
        return NULL;
    PyObject *result = run_kernel(MODE_BAND, inputs, &shift_view, NULL, (uint64_t)k_lo,
                                  (uint64_t)k_hi, &neg_view, zero_obj, n_words);
    PyBuffer_Release(&shift_view);
    PyBuffer_Release(&neg_view);
    return result;
}

static PyObject *quorum(PyObject *self, PyObject *args) {
    PyObject *inputs, *zero_obj, *result = NULL;
    Py_buffer shift_view, group_view, neg_view;
    unsigned long long m, q;
    Py_ssize_t n_words;
    (void)self;
    if (!PyArg_ParseTuple(args, "Oy*y*KKw*On", &inputs, &shift_view, &group_view, &m, &q,
                          &neg_view, &zero_obj, &n_words))
        return NULL;
    if (q < 1 || q > m)
        PyErr_SetString(PyExc_ValueError, "quorum needs 1 <= q <= m");
    else
        result = run_kernel(MODE_QUORUM, inputs, &shift_view, &group_view, (uint64_t)m,
                            (uint64_t)q, &neg_view, zero_obj, n_words);
    PyBuffer_Release(&shift_view);
    PyBuffer_Release(&group_view);
    PyBuffer_Release(&neg_view);
    return result;
}

/* The memory-side yardstick for the kernels above (election bench votes): the same buffers
 * read once with nothing computed but a vector XOR, compiled here so that it gets the kernels'
 * compiler flags and ISA clones. Sequential: buffer after buffer, one read stream at a time
 * (what the hardware prefetchers serve best), two accumulators; interleaved: one cache line of
 * every buffer per step with the kernels' prefetch, the kernels' access pattern. Both return
 * the XOR of every word read (so that the loads cannot be elided, and a test can check it). */
MULTIVERSION static uint64_t read_sequential(const uint64_t *const *in, const Py_ssize_t *words,
                                             Py_ssize_t n_in) {
    vec_t a = {0}, b = {0};
    uint64_t rest = 0;
    for (Py_ssize_t j = 0; j < n_in; j++) {
        const uint64_t *p = in[j];
        const Py_ssize_t n_pairs = words[j] / (2 * LANES) * (2 * LANES);
        for (Py_ssize_t w = 0; w < n_pairs; w += 2 * LANES) {
            vec_t x, y;
            LOAD_VEC(x, p + w);
            LOAD_VEC(y, p + w + LANES);
            a ^= x;
            b ^= y;
        }
        for (Py_ssize_t w = n_pairs; w < words[j]; w++) rest ^= p[w];
    }
    a ^= b;
    for (int i = 0; i < LANES; i++) rest ^= a[i];
    return rest;
}

MULTIVERSION static uint64_t read_interleaved(const uint64_t *const *in, Py_ssize_t n_in,
                                              Py_ssize_t n_words) {
    vec_t a[HALVES] = {{0}};
    uint64_t rest = 0;
    const Py_ssize_t n_steps = n_words / STEP;
    for (Py_ssize_t w = 0; w < n_steps * STEP; w += STEP) {
        PREFETCH_ALL()
        for (Py_ssize_t j = 0; j < n_in; j++) {
            const uint64_t *const *p = in + j;
            LOAD_PLANE(x, 0)
            FOR_H a[h] ^= x[h];
        }
    }
    for (Py_ssize_t j = 0; j < n_in; j++)
        for (Py_ssize_t w = n_steps * STEP; w < n_words; w++) rest ^= in[j][w];
    FOR_H for (int i = 0; i < LANES; i++) rest ^= a[h][i];
    return rest;
}

/* stream_read(inputs, interleaved) -> int: the XOR of the whole words (len // 8) of every
 * input buffer, read as described above (GIL released); interleaved needs equal lengths. */
static PyObject *stream_read(PyObject *self, PyObject *args) {
    PyObject *inputs, *seq = NULL, *result = NULL;
    Py_ssize_t n_in = 0, n_acquired = 0;
    int interleaved;
    Py_buffer *views = NULL;
    const uint64_t **planes = NULL;
    Py_ssize_t *words = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "Op", &inputs, &interleaved)) return NULL;
    seq = PySequence_Fast(inputs, "inputs must be a sequence of buffers");
    if (seq == NULL) return NULL;
    n_in = PySequence_Fast_GET_SIZE(seq);
    views = PyMem_Calloc((size_t)n_in + 1, sizeof(Py_buffer));
    planes = PyMem_Calloc((size_t)n_in + 1, sizeof(uint64_t *));
    words = PyMem_Calloc((size_t)n_in + 1, sizeof(Py_ssize_t));
    if (views == NULL || planes == NULL || words == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (; n_acquired < n_in; n_acquired++) {
        Py_buffer *v = &views[n_acquired];
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, n_acquired), v,
                               PyBUF_C_CONTIGUOUS) < 0)
            goto done;
        planes[n_acquired] = (const uint64_t *)v->buf;
        words[n_acquired] = v->len / (Py_ssize_t)sizeof(uint64_t);
        if (interleaved && words[n_acquired] != words[0]) {
            PyErr_SetString(PyExc_ValueError, "interleaved reads need buffers of equal length");
            n_acquired++;
            goto done;
        }
    }
    uint64_t x;
    Py_BEGIN_ALLOW_THREADS
    x = interleaved ? read_interleaved(planes, n_in, n_in ? words[0] : 0)
                    : read_sequential(planes, words, n_in);
    Py_END_ALLOW_THREADS
    result = PyLong_FromUnsignedLongLong(x);
done:
    for (Py_ssize_t j = 0; j < n_acquired; j++) PyBuffer_Release(&views[j]);
    PyMem_Free(views);
    PyMem_Free(planes);
    PyMem_Free(words);
    Py_DECREF(seq);
    return result;
}

/* mask_to_indices(mask, out, length) -> count: positions of the set bits of a little-bit-order
 * uint8 plane that are < length, ascending, written to out (uint32 buffer); count = how many.
 * Word at a time: ctz of the lowest set bit, then clear it. */
static PyObject *mask_to_indices(PyObject *self, PyObject *args) {
    Py_buffer mask, out;
    unsigned long long length;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*w*K", &mask, &out, &length)) return NULL;
    const uint8_t *bytes = (const uint8_t *)mask.buf;
    uint32_t *dst = (uint32_t *)out.buf;
    const Py_ssize_t cap = out.len / (Py_ssize_t)sizeof(uint32_t);
    const Py_ssize_t n_bytes = mask.len;
    Py_ssize_t count = 0;
    int overflow = 0;
    if (length > UINT32_MAX + 1ULL) {
        PyErr_SetString(PyExc_ValueError, "length does not fit 32-bit indices");
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t at = 0; at < n_bytes && !overflow; at += 8) {
        uint64_t word = 0;
        memcpy(&word, bytes + at, (size_t)(n_bytes - at < 8 ? n_bytes - at : 8)); /* LE host */
        while (word) {
            const uint64_t pos = (uint64_t)at * 8 + (uint64_t)__builtin_ctzll(word);
            word &= word - 1;
            if (pos >= length) break;
            if (count == cap) {
                overflow = 1;
                break;
            }
            dst[count++] = (uint32_t)pos;
        }
    }
    Py_END_ALLOW_THREADS
    if (overflow) {
        PyErr_SetString(PyExc_ValueError, "out is too small for the set bits of mask");
        goto fail;
    }
    PyBuffer_Release(&mask);
    PyBuffer_Release(&out);
    return PyLong_FromSsize_t(count);
fail:
    PyBuffer_Release(&mask);
    PyBuffer_Release(&out);
    return NULL;
}

/* indices_to_mask(indices, mask): set bit i (little-bit order) of the uint8 plane mask for
 * every uint32 index i; raises ValueError (mask unchanged past the bad index) if i is out of
 * range. */
static PyObject *indices_to_mask(PyObject *self, PyObject *args) {
    Py_buffer idx, mask;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*w*", &idx, &mask)) return NULL;
    const uint32_t *src = (const uint32_t *)idx.buf;
    uint8_t *dst = (uint8_t *)mask.buf;
    const Py_ssize_t n = idx.len / (Py_ssize_t)sizeof(uint32_t);
    const uint64_t n_bits = (uint64_t)mask.len * 8;
    Py_ssize_t bad = -1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < n; j++) {
        uint32_t i;
        memcpy(&i, src + j, sizeof i);
        if (i >= n_bits) {
            bad = j;
            break;
        }
        dst[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&idx);
    PyBuffer_Release(&mask);
    if (bad >= 0) {
        PyErr_Format(PyExc_ValueError, "index at position %zd is past the end of the mask", bad);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* count_indices(lists, planes): add 1 at every index of every list (uint32 buffers) into the
 * bit-sliced counter planes[0..q) (uint64 buffers, LSB plane first, zeroed by the caller): per
 * index, a ripple of half adders on one word. Raises ValueError if an index is past the planes
 * or the counter overflows q bits. The counter then enters threshold() as q planes of weights
 * 1, 2, 4, ... instead of one zero plane per sparse vote. */
#define MAX_COUNT_PLANES 16
static PyObject *count_indices(PyObject *self, PyObject *args) {
    PyObject *lists, *planes_obj, *result = NULL, *lseq = NULL, *pseq = NULL;
    Py_buffer pviews[MAX_COUNT_PLANES];
    uint64_t *plane[MAX_COUNT_PLANES];
    Py_ssize_t q = 0, n_acquired = 0, n_words = PY_SSIZE_T_MAX;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &lists, &planes_obj)) return NULL;
    lseq = PySequence_Fast(lists, "lists must be a sequence of buffers");
    pseq = PySequence_Fast(planes_obj, "planes must be a sequence of buffers");
    if (lseq == NULL || pseq == NULL) goto done;
    q = PySequence_Fast_GET_SIZE(pseq);
    if (q < 1 || q > MAX_COUNT_PLANES) {
        PyErr_Format(PyExc_ValueError, "need 1..%d counter planes, got %zd", MAX_COUNT_PLANES, q);
        goto done;
    }
    for (; n_acquired < q; n_acquired++) {
        Py_buffer *v = &pviews[n_acquired];
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(pseq, n_acquired), v,
                               PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
            goto done;
        plane[n_acquired] = (uint64_t *)v->buf;
        const Py_ssize_t words = v->len / (Py_ssize_t)sizeof(uint64_t);
        if (words < n_words) n_words = words;
    }
    for (Py_ssize_t l = 0; l < PySequence_Fast_GET_SIZE(lseq); l++) {
        Py_buffer iv;
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(lseq, l), &iv, PyBUF_C_CONTIGUOUS) < 0)
            goto done;
        const uint8_t *src = (const uint8_t *)iv.buf;
        const Py_ssize_t n = iv.len / (Py_ssize_t)sizeof(uint32_t);
        int error = 0; /* 1: index out of range, 2: counter overflow */
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t j = 0; j < n && !error; j++) {
            uint32_t i;
            memcpy(&i, src + j * (Py_ssize_t)sizeof i, sizeof i);
            const Py_ssize_t w = (Py_ssize_t)(i >> 6);
            if (w >= n_words) {
                error = 1;
                break;
            }
            uint64_t carry = (uint64_t)1 << (i & 63);
            for (Py_ssize_t p = 0; p < q && carry; p++) {
                const uint64_t old = plane[p][w];
                plane[p][w] = old ^ carry;
                carry &= old;
            }
            if (carry) error = 2;
        }
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&iv);
        if (error) {
            PyErr_Format(PyExc_ValueError, error == 1 ? "list %zd has an index past the planes"
                                                      : "list %zd overflows the counter planes",
                         l);
            goto done;
        }
    }
    result = Py_None;
    Py_INCREF(result);
done:
    for (Py_ssize_t j = 0; j < n_acquired; j++) PyBuffer_Release(&pviews[j]);
    Py_XDECREF(lseq);
    Py_XDECREF(pseq);
    return result;
}

/* isa() -> str: the instruction set the kernels run with on this CPU (the clone the loader
 * picks under multiversioning, else what the compiler was told). */
static PyObject *isa(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
#if defined(__x86_64__) && !defined(ELECTION_NO_MULTIVERSION)
    __builtin_cpu_init();
    return PyUnicode_FromString(__builtin_cpu_supports("avx2") ? "avx2" : "sse2");
#elif defined(__AVX512F__)
    return PyUnicode_FromString("avx512f");
#elif defined(__AVX2__)
    return PyUnicode_FromString("avx2");
#elif defined(__x86_64__)
    return PyUnicode_FromString("sse2");
#else
    return PyUnicode_FromString("generic");
#endif
}

static PyMethodDef methods[] = {
    {"count_indices", count_indices, METH_VARARGS,
     "count_indices(lists, planes): add 1 at every uint32 index into a bit-sliced counter."},
    {"mask_to_indices", mask_to_indices, METH_VARARGS,
     "mask_to_indices(mask, out, length) -> count: set-bit positions < length into uint32 out."},
    {"indices_to_mask", indices_to_mask, METH_VARARGS,
     "indices_to_mask(indices, mask): set the bits listed by uint32 indices in a uint8 plane."},
    {"isa", isa, METH_NOARGS, "isa() -> str: the vector instruction set the kernels use here."},
    {"stream_read", stream_read, METH_VARARGS,
     "stream_read(inputs, interleaved) -> int: XOR of the whole words of every input buffer, "
     "read buffer after buffer or one cache line of each per step (a bandwidth yardstick)."},
    {"threshold", threshold, METH_VARARGS,
     "threshold(inputs, shifts, k, neg, zero, n_words): neg = (T > k), zero = (T == k) for "
     "T = sum_i 2**shifts[i] * inputs[i], bit-sliced over uint64 words."},
    {"band", band, METH_VARARGS,
     "band(inputs, shifts, k_lo, k_hi, neg, zero, n_words): neg = (T > k_hi), "
     "zero = (k_lo <= T <= k_hi) for the same T."},
    {"quorum", quorum, METH_VARARGS,
     "quorum(inputs, shifts, groups, m, q, neg, zero, n_words): the quorum decoder on counters "
     "N (group 0) and Z (group 1): neg = (2N+Z > m) & (N >= q), zero = not neg and not "
     "((2N+Z < m) & (N+Z <= m-q))."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "election.votes._planes",
    .m_doc = "Fused bit-sliced counters for the packed majority and quorum decoders; "
              "zero-plane codecs.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__planes(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && (PyModule_AddIntConstant(m, "MAX_BITS", MAX_BITS) < 0 ||
                      PyModule_AddIntConstant(m, "MAX_SHIFT", MAX_SHIFT) < 0 ||
                      PyModule_AddIntConstant(m, "DENSE_MAX", DENSE_MAX) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
