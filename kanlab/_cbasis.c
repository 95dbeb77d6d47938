/* kanlab._cbasis: the B-spline basis of a KAN layer and its local passes as plain C loops.
 *
 * Optional: kanlab works without it (pure torch). For the small layers of the paper's examples
 * (2 -> 5 -> 1) a pass built from torch ops spends most of its time dispatching ~30 small ops;
 * here one call walks the inputs once. The functions take raw data pointers and sizes as Python
 * ints; kanlab/kernels.py checks devices, dtypes, shapes and contiguity before calling them,
 * keeps the tensors alive during the call, and is the only caller. The GIL is released while a
 * kernel runs. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_ORDER 15
#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#else /* e.g. MSVC: a plain inline hint, and C11's restrict under its own name */
#define ALWAYS_INLINE static __inline
#define restrict __restrict
#endif
/* kernel(first, k, rest...) with k a compile-time constant for the orders people use (the loops
 * over the k + 1 local bases unroll), the generic loop for any other order. */
#define FOR_ORDER(k, kernel, first, ...)                          \
    do {                                                          \
        switch (k) {                                              \
        case 1: kernel(first, 1, __VA_ARGS__); break;             \
        case 2: kernel(first, 2, __VA_ARGS__); break;             \
        case 3: kernel(first, 3, __VA_ARGS__); break;             \
        default: kernel(first, (k), __VA_ARGS__);                 \
        }                                                         \
    } while (0)
/* Loops that are arithmetic over rows of outputs also get versions for AVX-512 and for AVX2 + FMA,
 * picked at load time on CPUs that have them (GCC's function multi-versioning, which needs glibc). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__)
#define WIDE_VECTORS __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define WIDE_VECTORS
#endif

enum { BASE_SILU = 0, BASE_IDENTITY = 1, BASE_ZERO = 2, BASE_TANH = 3, BASE_GELU = 4 };

typedef struct {
    const void *knots;  /* (I, K) */
    Py_ssize_t n_knots; /* K = G + 2k + 1 */
    int k;              /* spline order */
    Py_ssize_t n_basis; /* NB = G + k */
    int uniform;        /* uniform knots: inv_h, shift per input and one (k+1)² table */
    const void *inv_h;  /* (I,) 1/h (uniform) */
    const void *shift;  /* (I,) -t_0/h (uniform) */
    const void *table;  /* uniform: (k+1, k+1); else (I·(K-1), 2 + (k+1)²) per interval */
    int base_kind;
    /* Non-uniform knots: M buckets per input over [t_0, t_{K-1}] and, per bucket, an interval
     * at or just below the one of its left edge (a starting point for a short exact scan). */
    Py_ssize_t n_buckets;
    const void *bucket_scale; /* (I, 2): t_0 and M/(t_{K-1} - t_0) */
    const void *bucket_start; /* (I, M) int64 */
} Grid;

/* One kernel call: the grid, the sizes and the kernel's data pointers (see each *_rows kernel). */
typedef struct {
    const Grid *grid;
    Py_ssize_t N, I, out;
    void *ptr[9];
    Py_ssize_t *scratch; /* kernels over inputs: K + N entries (see group_by_interval) */
} Job;

typedef void (*RowsKernel)(const Job *job, Py_ssize_t b0, Py_ssize_t b1);

#define VBYTES 64 /* the penalty kernels' vector width in bytes */

#define REAL float
#define SUFFIX _f32
#define EXP expf
#define TANH tanhf
#define ERF erff
#include "_cbasis_impl.h"
#undef REAL
#undef SUFFIX
#undef EXP
#undef TANH
#undef ERF

#define REAL double
#define SUFFIX _f64
#define EXP exp
#define TANH tanh
#define ERF erf
#include "_cbasis_impl.h"
#undef REAL
#undef SUFFIX
#undef EXP
#undef TANH
#undef ERF

/* Read nargs Python ints into v (pointers and sizes alike); 0 with an exception set on error. */
static int read_ints(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t expected, intptr_t *v) {
    if (nargs != expected) {
        PyErr_Format(PyExc_TypeError, "expected %zd int arguments, got %zd", expected, nargs);
        return 0;
    }
    for (Py_ssize_t a = 0; a < nargs; ++a) {
        v[a] = (intptr_t)PyLong_AsSsize_t(args[a]);
        if (v[a] == -1 && PyErr_Occurred()) return 0;
    }
    return 1;
}

/* (is_double, knots, K, k, NB, uniform, inv_h, shift, table, base_kind, M, bucket_scale,
 * bucket_start) -> Grid. */
static int read_grid(const intptr_t *v, Grid *g) {
    g->knots = (const void *)v[1];
    g->n_knots = (Py_ssize_t)v[2];
    g->k = (int)v[3];
    g->n_basis = (Py_ssize_t)v[4];
    g->uniform = (int)v[5];
    g->inv_h = (const void *)v[6];
    g->shift = (const void *)v[7];
    g->table = (const void *)v[8];
    g->base_kind = (int)v[9];
    g->n_buckets = (Py_ssize_t)v[10];
    g->bucket_scale = (const void *)v[11];
    g->bucket_start = (const void *)v[12];
    if (!g->uniform && g->n_buckets < 1) {
        PyErr_SetString(PyExc_ValueError, "non-uniform knots need at least one bucket");
        return 0;
    }
    if (g->k < 0 || g->k > MAX_ORDER || g->n_knots < g->k + 2) {
        PyErr_Format(PyExc_ValueError, "unsupported spline order %d or knot count %zd", g->k, g->n_knots);
        return 0;
    }
    return 1;
}


#define PTR(T, a) ((T *)(v[a]))

#define GRID_ARGS 13
#define SIZE_ARGS 3 /* N, I, out */

/* Arguments: the grid (read_grid), N, I, out, then n_ptr data pointers; runs the float32 or
 * float64 kernel over all rows (samples b, or inputs i when ``over_inputs``) without the GIL. One thread: splitting rows over threads gained
 * nothing measurable next to torch's own (spinning) worker threads on this 2-core machine. */
static PyObject *call(PyObject *const *args, Py_ssize_t nargs, int n_ptr, int over_inputs,
                      RowsKernel f32, RowsKernel f64) {
    intptr_t v[GRID_ARGS + SIZE_ARGS + 9];
    Grid g;
    Job job;
    if (!read_ints(args, nargs, GRID_ARGS + SIZE_ARGS + n_ptr, v) || !read_grid(v, &g)) return NULL;
    job.grid = &g;
    job.N = v[GRID_ARGS];
    job.I = v[GRID_ARGS + 1];
    job.out = v[GRID_ARGS + 2];
    for (int a = 0; a < 9; ++a) job.ptr[a] = a < n_ptr ? (void *)v[GRID_ARGS + SIZE_ARGS + a] : NULL;
    job.scratch = NULL;
    if (over_inputs) {
        job.scratch = PyMem_RawMalloc(sizeof(Py_ssize_t) * (size_t)(g.n_knots + job.N + 1));
        if (job.scratch == NULL) return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    (v[0] ? f64 : f32)(&job, 0, over_inputs ? job.I : job.N);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(job.scratch);
    Py_RETURN_NONE;
}

static PyObject *evaluate(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return call(args, nargs, 8, 0, evaluate_rows_f32, evaluate_rows_f64);
}

static PyObject *input_gradient(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return call(args, nargs, 5, 0, input_gradient_rows_f32, input_gradient_rows_f64);
}

static PyObject *local_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return call(args, nargs, 5, 0, local_forward_rows_f32, local_forward_rows_f64);
}

static PyObject *local_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return call(args, nargs, 9, 0, local_backward_rows_f32, local_backward_rows_f64);
}

static PyObject *l1_sums(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return call(args, nargs, 6, 1, l1_sums_rows_f32, l1_sums_rows_f64);
}

static PyObject *l1_input_gradient(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return call(args, nargs, 8, 1, l1_input_gradient_rows_f32, l1_input_gradient_rows_f64);
}

/* (is_double, out, I, NB, then n_ptr pointers): the parameter kernels, which need no grid. */
static int read_param_call(PyObject *const *args, Py_ssize_t nargs, int n_ptr, intptr_t *v) {
    return read_ints(args, nargs, 4 + n_ptr, v);
}

static PyObject *assemble_weight(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    intptr_t v[9];
    if (!read_param_call(args, nargs, 5, v)) return NULL;
    if (v[0])
        assemble_weight_f64(v[1], v[2], v[3], PTR(const double, 4), PTR(const double, 5),
                            PTR(const double, 6), PTR(const double, 7), PTR(double, 8));
    else
        assemble_weight_f32(v[1], v[2], v[3], PTR(const float, 4), PTR(const float, 5),
                            PTR(const float, 6), PTR(const float, 7), PTR(float, 8));
    Py_RETURN_NONE;
}

static PyObject *parameter_gradients(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    intptr_t v[11];
    if (!read_param_call(args, nargs, 7, v)) return NULL;
    if (v[0])
        parameter_gradients_f64(v[1], v[2], v[3], PTR(const double, 4), PTR(const double, 5),
                                PTR(const double, 6), PTR(const double, 7), PTR(double, 8),
                                PTR(double, 9), PTR(double, 10));
    else
        parameter_gradients_f32(v[1], v[2], v[3], PTR(const float, 4), PTR(const float, 5),
                                PTR(const float, 6), PTR(const float, 7), PTR(float, 8),
                                PTR(float, 9), PTR(float, 10));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"evaluate", (PyCFunction)(void (*)(void))evaluate, METH_FASTCALL,
     "Basis features, spans, local values/slopes and base values at x (see kernels.py)."},
    {"input_gradient", (PyCFunction)(void (*)(void))input_gradient, METH_FASTCALL,
     "grad_x of the dense pass from the features' gradient (see kernels.py)."},
    {"local_forward", (PyCFunction)(void (*)(void))local_forward, METH_FASTCALL,
     "A layer's output from the local bases (see kernels.py)."},
    {"local_backward", (PyCFunction)(void (*)(void))local_backward, METH_FASTCALL,
     "grad_weight and grad_x of local_forward (see kernels.py)."},
    {"l1_sums", (PyCFunction)(void (*)(void))l1_sums, METH_FASTCALL,
     "Per edge, the signed sums of the features behind |phi|_1 (see kernels.py)."},
    {"l1_input_gradient", (PyCFunction)(void (*)(void))l1_input_gradient, METH_FASTCALL,
     "The sparsity penalty's gradient with respect to x (see kernels.py)."},
    {"assemble_weight", (PyCFunction)(void (*)(void))assemble_weight, METH_FASTCALL,
     "The layer's weight (out, C, in) from its parameters (see kernels.py)."},
    {"parameter_gradients", (PyCFunction)(void (*)(void))parameter_gradients, METH_FASTCALL,
     "The parameters' gradients from the weight's gradient (see kernels.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cbasis",
    "B-spline basis kernels for kanlab's KAN layer (optional; see kanlab/kernels.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__cbasis(void) { return PyModule_Create(&module); }
