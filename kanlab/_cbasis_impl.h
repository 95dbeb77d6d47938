/* The kernels of _cbasis.c for one floating type; included once with REAL = float and once
 * with REAL = double (SUFFIX names them). Layouts (all C-contiguous, batch N, inputs I, bases
 * NB = G + k, columns C = NB + 1 with the base function last):
 *   x (N, I); knots (I, K); features (N, C, I); span (N, I) int64; values, slopes (k + 1, N, I);
 *   base, base_slope (N, I); weight (out, C, I); y, grad_y (N, out).
 * See kanlab/kernels.py for what each computes and why. */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SUFFIX)

/* VBYTES-wide vectors of REAL (GCC/clang vector extensions): 16 floats or 8 doubles, one AVX-512
 * register, two AVX2 or four SSE2 registers, whichever the function's target has. */
typedef REAL FN(vec) __attribute__((vector_size(VBYTES)));
#define VREAL FN(vec)
#define VLEN ((int)(VBYTES / sizeof(REAL)))
#define VZERO ((VREAL){0})
#define VLOAD(p) FN(vload)(p)
#define VADD_TO(p, v) FN(vadd_to)(p, v)
#define VSIGN(v) FN(vsign)(v)
#define VSUM(v) FN(vsum)(v)

static inline VREAL FN(vload)(const REAL *p) {
    VREAL v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void FN(vadd_to)(REAL *p, VREAL v) {
    VREAL x;
    memcpy(&x, p, sizeof x);
    x += v;
    memcpy(p, &x, sizeof x);
}

/* sign(v) per lane: 1, -1 or 0 (a comparison gives -1 for true). */
static inline VREAL FN(vsign)(VREAL v) {
    return __builtin_convertvector(v < VZERO, VREAL) - __builtin_convertvector(v > VZERO, VREAL);
}

static inline REAL FN(vsum)(VREAL v) {
    REAL total = 0;
    for (int lane = 0; lane < VLEN; ++lane) total += v[lane];
    return total;
}

/* b(x) and b'(x) for the layer's base function. ``aux``: sigmoid(x) for silu and tanh(x) for tanh
 * when the caller computed them (vectorised by torch: several times faster than a scalar exp
 * here), else NULL. */
static inline void FN(base_function)(int kind, REAL x, const REAL *aux, REAL *value, REAL *slope) {
    switch (kind) {
    case BASE_SILU: {
        REAL s = aux ? *aux : (REAL)1 / ((REAL)1 + EXP(-x));
        *value = x * s;
        *slope = s * ((REAL)1 + x * ((REAL)1 - s));
        return;
    }
    case BASE_IDENTITY:
        *value = x;
        *slope = 1;
        return;
    case BASE_TANH: {
        REAL t = aux ? *aux : TANH(x);
        *value = t;
        *slope = (REAL)1 - t * t;
        return;
    }
    case BASE_GELU: {
        REAL cdf = (REAL)0.5 * ((REAL)1 + ERF(x * (REAL)0.70710678118654752440));
        *value = x * cdf;
        *slope = cdf + x * EXP((REAL)-0.5 * x * x) * (REAL)0.39894228040143267794;
        return;
    }
    default: /* BASE_ZERO */
        *value = 0;
        *slope = 0;
    }
}

/* Where x sits on its row of knots: the interval s (clamped to [0, K - 2]), whether x lies in
 * [t_0, t_{K-1}], the fraction f in the interval, 1/h_s and the polynomial table P[p, r] of the
 * k + 1 non-zero bases. Same rules as splines.local_support. */
static inline int64_t FN(locate)(const Grid *g, Py_ssize_t i, REAL x, int *inside, REAL *frac,
                                 REAL *inv_h, const REAL **poly) {
    const REAL *t = (const REAL *)g->knots + i * g->n_knots;
    const Py_ssize_t last = g->n_knots - 1;
    int64_t s;
    if (g->uniform) {
        const REAL h_inv = ((const REAL *)g->inv_h)[i];
        const REAL u = ((const REAL *)g->shift)[i] + x * h_inv; /* (x - t_0)/h */
        *inside = x >= t[0] && x <= t[last]; /* exact, not from the rounded u */
        REAL clamped = u > 0 ? u : 0; /* also maps NaN to 0 */
        clamped = clamped < (REAL)last ? clamped : (REAL)last;
        s = (int64_t)clamped;
        if (s > last - 1) s = last - 1;
        if (g->k == 0) { /* order 0 jumps at knots: undo a round-off that put s one off */
            if (x >= t[s + 1] && s < last - 1) s += 1;
            if (x < t[s] && s > 0) s -= 1;
        }
        REAL f = (x - t[s]) * h_inv;
        *frac = f < 0 ? 0 : (f > 1 ? 1 : f);
        *inv_h = h_inv;
        *poly = (const REAL *)g->table;
    } else { /* s = (number of knots <= x) - 1, from a bucket's first interval, then a short scan */
        if (!(x >= t[0])) { /* left of the knots, or NaN */
            s = -1;
        } else if (x >= t[last]) {
            s = last;
        } else {
            const REAL *bucket = (const REAL *)g->bucket_scale + 2 * i; /* t_0, M/(t_{K-1} - t_0) */
            Py_ssize_t m = (Py_ssize_t)((x - bucket[0]) * bucket[1]);
            m = m < 0 ? 0 : (m > g->n_buckets - 1 ? g->n_buckets - 1 : m);
            s = ((const int64_t *)g->bucket_start)[i * g->n_buckets + m];
            while (s < last && t[s + 1] <= x) ++s; /* exact whatever the bucket's round-off */
            while (s > 0 && t[s] > x) --s;
        }
        *inside = s >= 0 && x <= t[last];
        if (s < 0) s = 0;
        if (s > last - 1) s = last - 1;
        const REAL *row = (const REAL *)g->table + (i * last + s) * (2 + (g->k + 1) * (g->k + 1));
        *inv_h = row[1];
        *frac = *inside ? (x - row[0]) * row[1] : 0;
        *poly = row + 2;
    }
    return s;
}

/* Values (and d/dx) of the k + 1 local bases B_{s-k} .. B_s by Horner's rule; 0 for bases that
 * do not exist (index outside [0, NB)) or when x is outside the knots. */
ALWAYS_INLINE void FN(local_values)(const Grid *g, const int k, int64_t s, int inside, REAL f,
                                           REAL inv_h, const REAL *poly, REAL *values, REAL *slopes) {
    const int n = k + 1;
    for (int r = 0; r <= k; ++r) {
        const int64_t c = s - k + r;
        if (!inside || c < 0 || c >= g->n_basis) {
            values[r] = 0;
            if (slopes) slopes[r] = 0;
            continue;
        }
        REAL v = poly[k * n + r];
        for (int p = k - 1; p >= 0; --p) v = v * f + poly[p * n + r];
        values[r] = v;
        if (slopes) {
            REAL d = 0;
            if (k > 0) {
                d = poly[k * n + r] * (REAL)k;
                for (int p = k - 1; p >= 1; --p) d = d * f + poly[p * n + r] * (REAL)p;
            }
            slopes[r] = d * inv_h;
        }
    }
}

/* Evaluate the basis at x for rows b0 <= b < b1. Optional outputs (NULL: not wanted): dense
 * features (N, C, I), span (N, I), local values and slopes (k + 1, N, I), base and base_slope
 * (N, I). k is a compile-time constant in the common cases (see evaluate_rows), so the loops
 * over r unroll. */
ALWAYS_INLINE void FN(evaluate_k)(const Grid *g, const int k, Py_ssize_t N, Py_ssize_t I,
                                  Py_ssize_t b0, Py_ssize_t b1, const REAL *restrict x,
                                  const REAL *restrict aux, REAL *restrict features, int64_t *restrict span,
                                  REAL *restrict values, REAL *restrict slopes,
                                  REAL *restrict base, REAL *restrict base_slope) {
    const Py_ssize_t C = g->n_basis + 1, NI = N * I;
    REAL v[MAX_ORDER + 1], d[MAX_ORDER + 1];
    if (features) memset(features + b0 * C * I, 0, sizeof(REAL) * (size_t)((b1 - b0) * C * I));
    for (Py_ssize_t b = b0; b < b1; ++b) {
        REAL *row = features ? features + b * C * I : NULL;
        for (Py_ssize_t i = 0; i < I; ++i) {
            const Py_ssize_t at = b * I + i;
            const REAL xv = x[at];
            int inside;
            REAL f, inv_h, bv, bd;
            const REAL *poly;
            const int64_t s = FN(locate)(g, i, xv, &inside, &f, &inv_h, &poly);
            FN(local_values)(g, k, s, inside, f, inv_h, poly, v, slopes ? d : NULL);
            FN(base_function)(g->base_kind, xv, aux ? aux + at : NULL, &bv, &bd);
            if (row) {
                for (int r = 0; r <= k; ++r) {
                    const int64_t c = s - k + r;
                    if (c >= 0 && c < g->n_basis) row[c * I + i] = v[r];
                }
                row[(C - 1) * I + i] = bv;
            }
            if (span) span[at] = s;
            if (values) for (int r = 0; r <= k; ++r) values[r * NI + at] = v[r];
            if (slopes) for (int r = 0; r <= k; ++r) slopes[r * NI + at] = d[r];
            if (base) base[at] = bv;
            if (base_slope) base_slope[at] = bd;
        }
    }
}

/* Job pointers: x, aux (see base_function), features, span, values, slopes, base, base_slope. */
static void FN(evaluate_rows)(const Job *job, Py_ssize_t b0, Py_ssize_t b1) {
    const Grid *g = job->grid;
    void *const *p = job->ptr;
    FOR_ORDER(g->k, FN(evaluate_k), g, job->N, job->I, b0, b1, p[0], p[1], p[2], p[3], p[4], p[5],
              p[6], p[7]);
}

/* The column of local basis r of an input in interval s, clamped into [0, NB). */
static inline Py_ssize_t FN(column)(const Grid *g, int64_t s, int r) {
    int64_t c = s - g->k + r;
    return (Py_ssize_t)(c < 0 ? 0 : (c >= g->n_basis ? g->n_basis - 1 : c));
}

/* grad_x[b, i] = Σ_r grad_features[b, c_r, i]·slopes[r, b, i] + grad_features[b, NB, i]·base_slope[b, i]
 * for rows b0 <= b < b1. Job pointers: grad_features, span, slopes, base_slope, grad_x. */
static void FN(input_gradient_rows)(const Job *job, Py_ssize_t b0, Py_ssize_t b1) {
    const Grid *g = job->grid;
    const Py_ssize_t I = job->I, C = g->n_basis + 1, NI = job->N * I;
    const REAL *restrict grad_features = job->ptr[0];
    const int64_t *restrict span = job->ptr[1];
    const REAL *restrict slopes = job->ptr[2], *restrict base_slope = job->ptr[3];
    REAL *restrict grad_x = job->ptr[4];
    for (Py_ssize_t b = b0; b < b1; ++b) {
        const REAL *row = grad_features + b * C * I;
        for (Py_ssize_t i = 0; i < I; ++i) {
            const Py_ssize_t at = b * I + i;
            REAL acc = row[(C - 1) * I + i] * base_slope[at];
            for (int r = 0; r <= g->k; ++r)
                acc += row[FN(column)(g, span[at], r) * I + i] * slopes[r * NI + at];
            grad_x[at] = acc;
        }
    }
}

/* y[b, j] = Σ_i Σ_r weight[j, c_r, i]·values[r, b, i] + weight[j, NB, i]·base[b, i] for rows
 * b0 <= b < b1. Job pointers: span, values, base, weight, y. */
static void FN(local_forward_rows)(const Job *job, Py_ssize_t b0, Py_ssize_t b1) {
    const Grid *g = job->grid;
    const Py_ssize_t I = job->I, out = job->out, C = g->n_basis + 1, NI = job->N * I;
    const int64_t *restrict span = job->ptr[0];
    const REAL *restrict values = job->ptr[1], *restrict base = job->ptr[2];
    const REAL *restrict weight = job->ptr[3];
    REAL *restrict y = job->ptr[4];
    for (Py_ssize_t b = b0; b < b1; ++b) {
        for (Py_ssize_t j = 0; j < out; ++j) {
            const REAL *w = weight + j * C * I;
            REAL acc = 0;
            for (Py_ssize_t i = 0; i < I; ++i) {
                const Py_ssize_t at = b * I + i;
                acc += w[(C - 1) * I + i] * base[at];
                for (int r = 0; r <= g->k; ++r)
                    acc += w[FN(column)(g, span[at], r) * I + i] * values[r * NI + at];
            }
            y[b * out + j] = acc;
        }
    }
}

/* The backward pass of local_forward over all rows (grad_weight sums over them, so b0 and b1
 * are ignored): grad_weight (out, C, I) and grad_x (N, I), each NULL when not wanted.
 * Job pointers: span, values, slopes, base, base_slope, weight, grad_y, grad_weight, grad_x. */
static void FN(local_backward_rows)(const Job *job, Py_ssize_t b0, Py_ssize_t b1) {
    const Grid *g = job->grid;
    const Py_ssize_t N = job->N, I = job->I, out = job->out, C = g->n_basis + 1, NI = N * I;
    const int64_t *restrict span = job->ptr[0];
    const REAL *restrict values = job->ptr[1], *restrict slopes = job->ptr[2];
    const REAL *restrict base = job->ptr[3], *restrict base_slope = job->ptr[4];
    const REAL *restrict weight = job->ptr[5], *restrict grad_y = job->ptr[6];
    REAL *restrict grad_weight = job->ptr[7], *restrict grad_x = job->ptr[8];
    (void)b0, (void)b1;
    if (grad_weight) memset(grad_weight, 0, sizeof(REAL) * (size_t)(out * C * I));
    for (Py_ssize_t b = 0; b < N; ++b) {
        for (Py_ssize_t i = 0; i < I; ++i) {
            const Py_ssize_t at = b * I + i;
            Py_ssize_t col[MAX_ORDER + 1];
            for (int r = 0; r <= g->k; ++r) col[r] = FN(column)(g, span[at], r) * I + i;
            REAL gx = 0;
            for (Py_ssize_t j = 0; j < out; ++j) {
                const REAL gy = grad_y[b * out + j];
                const Py_ssize_t w0 = j * C * I;
                if (grad_weight) {
                    grad_weight[w0 + (C - 1) * I + i] += gy * base[at];
                    for (int r = 0; r <= g->k; ++r) grad_weight[w0 + col[r]] += gy * values[r * NI + at];
                }
                if (grad_x) {
                    REAL slope = weight[w0 + (C - 1) * I + i] * base_slope[at];
                    for (int r = 0; r <= g->k; ++r) slope += weight[w0 + col[r]] * slopes[r * NI + at];
                    gx += gy * slope;
                }
            }
            if (grad_x) grad_x[at] = gx;
        }
    }
}

/* ---- the sparsity penalty: every edge's |phi|_1 without a (batch, out, in) tensor -------------
 * Band layout of a weight or a sum, per input i a (P, out) block, P = NB + 2k + 1: row c + k is
 * basis c (rows below k and from NB + k on are bases that do not exist, 0 in a weight) and row
 * P - 1 the base function. An input in interval s then has its k + 1 bases in rows s .. s + k:
 * distinct rows, no clamping, so the loops over the outputs j run over plain rows. */

/* The samples of input i grouped by interval: order[start[s] .. start[s + 1]) are the samples
 * with span s (a counting sort; start has K entries). Samples in one interval share the k + 1
 * weight rows, which then stay in vector registers while the group's samples stream by. */
static void FN(group_by_interval)(const int64_t *span, Py_ssize_t N, Py_ssize_t I, Py_ssize_t i,
                                  Py_ssize_t n_intervals, Py_ssize_t *start, Py_ssize_t *order) {
    memset(start, 0, sizeof(Py_ssize_t) * (size_t)(n_intervals + 1));
    for (Py_ssize_t b = 0; b < N; ++b) start[span[b * I + i] + 1] += 1;
    for (Py_ssize_t s = 0; s < n_intervals; ++s) start[s + 1] += start[s];
    for (Py_ssize_t b = 0; b < N; ++b) order[start[span[b * I + i]]++] = b;
    for (Py_ssize_t s = n_intervals; s > 0; --s) start[s] = start[s - 1]; /* undo the shift */
    start[0] = 0;
}

/* sums[i][p][j] = Σ_b sign(phi_ji(x_bi))·feature_p(x_bi), with
 * phi_ji(x_bi) = Σ_r band[i][s + r][j]·values[r, b, i] + band[i][P - 1][j]·base[b, i], and,
 * when y is not NULL, the layer's output y[b][j] = Σ_i phi_ji(x_bi) from the same values (added
 * to y, (N, out)). ``out`` is a multiple of the vector width (kernels.Grid.band pads it). */
ALWAYS_INLINE void FN(l1_sums_k)(const Job *job, const int k, Py_ssize_t i0, Py_ssize_t i1) {
    const Grid *g = job->grid;
    const Py_ssize_t N = job->N, I = job->I, out = job->out, P = g->n_basis + 2 * k + 1, NI = N * I;
    const Py_ssize_t n_intervals = g->n_knots - 1;
    const int64_t *span = job->ptr[0];
    const REAL *values = job->ptr[1], *base = job->ptr[2], *band = job->ptr[3];
    REAL *sums = job->ptr[4], *y = job->ptr[5];
    Py_ssize_t *start = job->scratch, *order = start + n_intervals + 1;
    for (Py_ssize_t i = i0; i < i1; ++i) {
        const REAL *w_i = band + i * P * out;
        REAL *m_i = sums + i * P * out;
        memset(m_i, 0, sizeof(REAL) * (size_t)(P * out));
        FN(group_by_interval)(span, N, I, i, n_intervals, start, order);
        for (Py_ssize_t s = 0; s < n_intervals; ++s) {
            if (start[s] == start[s + 1]) continue;
            for (Py_ssize_t j0 = 0; j0 < out; j0 += VLEN) {
                VREAL w[MAX_ORDER + 1], m[MAX_ORDER + 1], mb = VZERO;
                const VREAL wb = VLOAD(w_i + (P - 1) * out + j0);
                for (int r = 0; r <= k; ++r) {
                    w[r] = VLOAD(w_i + (s + r) * out + j0);
                    m[r] = VZERO;
                }
                for (Py_ssize_t q = start[s]; q < start[s + 1]; ++q) {
                    const Py_ssize_t at = order[q] * I + i;
                    const REAL bv = base[at];
                    VREAL a = wb * bv;
                    for (int r = 0; r <= k; ++r) a += w[r] * values[r * NI + at];
                    if (y) VADD_TO(y + order[q] * out + j0, a);
                    const VREAL sign = VSIGN(a);
                    mb += sign * bv;
                    for (int r = 0; r <= k; ++r) m[r] += sign * values[r * NI + at];
                }
                VADD_TO(m_i + (P - 1) * out + j0, mb);
                for (int r = 0; r <= k; ++r) VADD_TO(m_i + (s + r) * out + j0, m[r]);
            }
        }
    }
}

/* Rows are inputs i here (each input's sums are its own). Job pointers: span, values, base,
 * band (I, P, out), sums (I, P, out), y (N, out) or NULL. */
WIDE_VECTORS static void FN(l1_sums_rows)(const Job *job, Py_ssize_t i0, Py_ssize_t i1) {
    FOR_ORDER(job->grid->k, FN(l1_sums_k), job, i0, i1);
}

/* grad_x[b, i] += Σ_j sign(phi_ji(x_bi))·dl[i][j]·phi_ji'(x_bi): the penalty's input gradient,
 * dl = d loss / d |phi|_1 divided by the batch size, laid out (I, out). */
ALWAYS_INLINE void FN(l1_input_gradient_k)(const Job *job, const int k, Py_ssize_t i0, Py_ssize_t i1) {
    const Grid *g = job->grid;
    const Py_ssize_t N = job->N, I = job->I, out = job->out, P = g->n_basis + 2 * k + 1, NI = N * I;
    const Py_ssize_t n_intervals = g->n_knots - 1;
    const int64_t *span = job->ptr[0];
    const REAL *values = job->ptr[1], *slopes = job->ptr[2], *base = job->ptr[3];
    const REAL *base_slope = job->ptr[4], *band = job->ptr[5], *dl = job->ptr[6];
    REAL *grad_x = job->ptr[7];
    Py_ssize_t *start = job->scratch, *order = start + n_intervals + 1;
    for (Py_ssize_t i = i0; i < i1; ++i) {
        const REAL *w_i = band + i * P * out;
        FN(group_by_interval)(span, N, I, i, n_intervals, start, order);
        for (Py_ssize_t s = 0; s < n_intervals; ++s) {
            if (start[s] == start[s + 1]) continue;
            for (Py_ssize_t j0 = 0; j0 < out; j0 += VLEN) {
                VREAL w[MAX_ORDER + 1];
                const VREAL wb = VLOAD(w_i + (P - 1) * out + j0), dl_j = VLOAD(dl + i * out + j0);
                for (int r = 0; r <= k; ++r) w[r] = VLOAD(w_i + (s + r) * out + j0);
                for (Py_ssize_t q = start[s]; q < start[s + 1]; ++q) {
                    const Py_ssize_t at = order[q] * I + i;
                    VREAL a = wb * base[at], slope = wb * base_slope[at];
                    for (int r = 0; r <= k; ++r) {
                        a += w[r] * values[r * NI + at];
                        slope += w[r] * slopes[r * NI + at];
                    }
                    grad_x[at] += VSUM(VSIGN(a) * dl_j * slope);
                }
            }
        }
    }
}

/* Job pointers: span, values, slopes, base, base_slope, band (I, P, out), dl (I, out),
 * grad_x (N, I) (added to). */
WIDE_VECTORS static void FN(l1_input_gradient_rows)(const Job *job, Py_ssize_t i0, Py_ssize_t i1) {
    FOR_ORDER(job->grid->k, FN(l1_input_gradient_k), job, i0, i1);
}

/* ---- the layer's parameters <-> its weight (out, C, I), basis-major ---------------------------- */

/* weight[j][c][i] = coef[j][i][c]·scale_sp[j][i]·numeric[j][i] (c < NB), weight[j][NB][i] =
 * scale_base[j][i]·numeric[j][i]. */
static void FN(assemble_weight)(Py_ssize_t out, Py_ssize_t I, Py_ssize_t NB, const REAL *coef,
                                const REAL *scale_sp, const REAL *scale_base, const REAL *numeric,
                                REAL *weight) {
    const Py_ssize_t C = NB + 1;
    for (Py_ssize_t j = 0; j < out; ++j)
        for (Py_ssize_t i = 0; i < I; ++i) {
            const Py_ssize_t e = j * I + i;
            const REAL sp = scale_sp[e] * numeric[e];
            const REAL *c_e = coef + e * NB;
            REAL *w = weight + j * C * I + i;
            for (Py_ssize_t c = 0; c < NB; ++c) w[c * I] = c_e[c] * sp;
            w[NB * I] = scale_base[e] * numeric[e];
        }
}

/* From the weight's gradient g (out, C, I): grad_coef[j][i][c] = g[j][c][i]·scale_sp·numeric,
 * grad_scale_sp[j][i] = numeric·Σ_c g[j][c][i]·coef[j][i][c], grad_scale_base[j][i] =
 * g[j][NB][i]·numeric; each output NULL when not wanted. */
static void FN(parameter_gradients)(Py_ssize_t out, Py_ssize_t I, Py_ssize_t NB, const REAL *g,
                                    const REAL *coef, const REAL *scale_sp, const REAL *numeric,
                                    REAL *grad_coef, REAL *grad_sp, REAL *grad_base) {
    const Py_ssize_t C = NB + 1;
    for (Py_ssize_t j = 0; j < out; ++j)
        for (Py_ssize_t i = 0; i < I; ++i) {
            const Py_ssize_t e = j * I + i;
            const REAL *g_e = g + j * C * I + i, *c_e = coef + e * NB;
            if (grad_coef) {
                const REAL sp = scale_sp[e] * numeric[e];
                for (Py_ssize_t c = 0; c < NB; ++c) grad_coef[e * NB + c] = g_e[c * I] * sp;
            }
            if (grad_sp) {
                REAL acc = 0;
                for (Py_ssize_t c = 0; c < NB; ++c) acc += g_e[c * I] * c_e[c];
                grad_sp[e] = acc * numeric[e];
            }
            if (grad_base) grad_base[e] = g_e[NB * I] * numeric[e];
        }
}

#undef VREAL
#undef VLEN
#undef VZERO
#undef VLOAD
#undef VADD_TO
#undef VSIGN
#undef VSUM
#undef FN
#undef CAT
#undef CAT_
