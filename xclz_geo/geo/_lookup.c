/*
 * xclz_geo.geo._lookup: the compiled point-in-zone lookup of xclz_geo.geo.locate (optional).
 *
 * One pass per point over the arrays of a LocateGrid (xclz_geo/geo/grid.py): validate the point as
 * the numpy path does, scale it to its coarse cell, gather the packed code (part << 3 | status) and,
 * where the coarse cell is exact and has a refinement tile, find the tile (bucket + popcount, the
 * arrays of locate._tile_index) and the fine cell and take its packed code. The arithmetic is the
 * numpy path's, operation for operation (locate._lookup_block, _lookup_slow_path, _fine_stage), so
 * every point gets the same status, part and reason. Points still exact after the refinement keep
 * status PACKED_EXACT (4) and the fine cell's candidate part; their indices are written to
 * ``exact_out`` for the exact (GEOS) stage in Python.
 *
 * Plain CPython C API and the buffer protocol only (no numpy headers): builds with setuptools and
 * any C99 compiler (GCC, clang, MSVC). The loop runs with the GIL released.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

/* floor(ty) * nx + tx must be two roundings, as in numpy's separate passes: never a fused multiply-add */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(_MSC_VER)
#pragma fp_contract(off)
#endif

#define PACKED_SHIFT 3
#define PACKED_EXACT 4
#define ST_INVALID 3
#define R_MISSING 1
#define R_LAT 2
#define R_LON 3
#define R_CHINA 4
#define TILE_BUCKET_BITS 4
#define TILE_BUCKET 16
/* points per chunk of the two-stage loop (the indices of its exact points fit on the stack) */
#define CHUNK 2048
/* cells per side of a super cell (locate.KERNEL_SUPER_BITS): the super table holds the packed code of a
   super cell whose cells all share it, else SUPER_MIXED; most points read it (a few KB, in the L1 cache)
   instead of the 1 MB grid */
#define SUPER_BITS 4
/* points of exact cells per group of the fine stage */
#define GROUP 256
#define SUPER_MIXED INT32_MIN

/* frame modes: which coordinates are valid (locate._validate) */
#define MODE_LONLAT 0   /* |lat| <= 90, |lon| <= 180 */
#define MODE_CHINA 1    /* GCJ-02 / BD-09: inside the China box */
#define MODE_PROJECTED 2 /* finite */

#if (defined(__GNUC__) || defined(__clang__)) && defined(__POPCNT__)
#define POPCOUNT16(v) ((int64_t)__builtin_popcount((unsigned int)(v)))
#else
static int64_t popcount16(unsigned int v)
{
    v = v - ((v >> 1) & 0x5555u);
    v = (v & 0x3333u) + ((v >> 2) & 0x3333u);
    v = (v + (v >> 4)) & 0x0F0Fu;
    return (int64_t)((v + (v >> 8)) & 0x1Fu);
}
#define POPCOUNT16(v) popcount16((unsigned int)(v))
#endif

static int is_finite(double v) { return v - v == 0.0; } /* NaN and +-inf give NaN */

static int32_t read_packed(const void *base, Py_ssize_t i, Py_ssize_t size)
{
    if (size == 1) return (int32_t)((const int8_t *)base)[i];
    if (size == 2) return (int32_t)((const int16_t *)base)[i];
    return ((const int32_t *)base)[i];
}

/* floor division by 8 of a packed code (an arithmetic shift, without relying on one or on a branch:
   pk minus its low three bits is a multiple of 8, so the division is exact) */
static int32_t packed_part(int32_t pk)
{
    return (pk - (pk & 7)) / (1 << PACKED_SHIFT);
}

/* The format character of a buffer without its byte-order prefix. */
static char fmt_char(const Py_buffer *v)
{
    const char *f = v->format ? v->format : "B";
    while (*f == '@' || *f == '=' || *f == '<' || *f == '>' || *f == '!') f++;
    return (f[0] != '\0' && f[1] == '\0') ? f[0] : '?';
}

/* Get a C-contiguous buffer of itemsize ``itemsize`` whose format character is one of ``kinds``. */
static int get_buf(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t itemsize, const char *kinds, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        view->obj = NULL; /* nothing to release */
        return -1;
    }
    if (view->itemsize != itemsize || strchr(kinds, fmt_char(view)) == NULL) {
        PyErr_Format(PyExc_TypeError, "_lookup: %s must be a contiguous array of item size %zd and format %s (got %zd, %s)",
                     name, itemsize, kinds, view->itemsize, view->format ? view->format : "B");
        PyBuffer_Release(view);
        view->obj = NULL;
        return -1;
    }
    return 0;
}

/* the signed integer format characters of each size (numpy: int8 'b', int16 'h', int32 'i' or 'l', int64 'l' or 'q') */
static const char *signed_kinds(Py_ssize_t size)
{
    if (size == 1) return "b";
    if (size == 2) return "h";
    if (size == 4) return sizeof(long) == 4 ? "il" : "i";
    return sizeof(long) == 8 ? "lqn" : "qn";
}

#define NBUF 11

/* the constants of the coarse stage */
typedef struct {
    double x0, y0, inv_dx, inv_dy, xhi, yhi, nxf, bx0, by0, bx1, by1;
    int32_t last, nx, snx, lastrow;
    int mode;
} Consts;

/* The flat cell index of each of m points (and whether each is valid), as numpy computes it in
   locate._lookup_block / _lookup_slow_path. No branch on the data: an invalid point is noted and
   clipped into the grid like any other (NaN clips to 0). The scaled coordinates are clipped into the
   grid (its outer cells are outside cells), then floor(ty) * nx + tx in two roundings (0 <= ty <
   2**31: floor is the truncation) and numpy's float-to-int step: v + (2**52 - 0.5) holds round(v - 0.5)
   in its low mantissa bits, read through an int64 view, -1 for the corner cell (wrapped to the last
   cell by take(mode="wrap")). Here the same integer as a float, r = (v + (2**52 - 0.5)) - 2**52: exact,
   and -0.5 where the bits read -1. The super cell (SUPER x SUPER cells) of that very cell: its row and
   column from the flat index (a point a rounding puts before its row's first cell is in the previous
   row's last cell; the corner's -1 is the last cell). Returns whether any point is invalid. */
#define FLAT_INDEX_BODY(VALID)                                                                   \
    for (j = 0; j < m; j++) {                                                                    \
        const double x = X[j], y = Y[j];                                                         \
        double tx, ty, v, r;                                                                     \
        int ok = (VALID);                                                                        \
        okv[j] = (uint8_t)ok;                                                                    \
        bad |= !ok;                                                                              \
        tx = (x - x0) * inv_dx;                                                                  \
        ty = (y - y0) * inv_dy;                                                                  \
        tx = tx > 0.0 ? tx : 0.0;                                                                \
        tx = tx < xhi ? tx : xhi;                                                                \
        ty = ty > 0.0 ? ty : 0.0;                                                                \
        ty = ty < yhi ? ty : yhi;                                                                \
        v = (double)(int32_t)ty * nxf;                                                           \
        v = v + tx;                                                                              \
        r = v + 4503599627370495.5;                                                              \
        r = r - 4503599627370496.0;                                                              \
        {                                                                                        \
            const int32_t iy = (int32_t)ty, f = (int32_t)r, corner = r < 0.0;                    \
            int32_t col = f - iy * nx, row;                                                      \
            const int32_t back = col < 0; /* the last cell of the row below */                   \
            row = corner ? lastrow : iy - back;                                                  \
            col = corner ? nx - 1 : col + back * nx;                                             \
            flat[j] = corner ? last : f;                                                         \
            sidx[j] = (row >> SUPER_BITS) * snx + (col >> SUPER_BITS);                            \
        }                                                                                        \
    }

#define DEFINE_FLAT_INDEX(NAME, ATTR)                                                            \
    ATTR static int NAME(const double *X, const double *Y, int m, const Consts *c, int32_t *flat, \
                         int32_t *sidx, uint8_t *okv)                                            \
    {                                                                                            \
        const double x0 = c->x0, y0 = c->y0, inv_dx = c->inv_dx, inv_dy = c->inv_dy;            \
        const double xhi = c->xhi, yhi = c->yhi, nxf = c->nxf;                                   \
        const double bx0 = c->bx0, by0 = c->by0, bx1 = c->bx1, by1 = c->by1;                     \
        const int32_t last = c->last, nx = c->nx, snx = c->snx, lastrow = c->lastrow;            \
        int j, bad = 0;                                                                          \
        if (c->mode == MODE_LONLAT) {                                                            \
            FLAT_INDEX_BODY((fabs(y) <= 90.0) & (fabs(x) <= 180.0))                              \
        } else if (c->mode == MODE_CHINA) {                                                      \
            FLAT_INDEX_BODY((x >= bx0) & (x <= bx1) & (y >= by0) & (y <= by1))                   \
        } else {                                                                                 \
            FLAT_INDEX_BODY(is_finite(x) & is_finite(y))                                         \
        }                                                                                        \
        return bad;                                                                              \
    }

DEFINE_FLAT_INDEX(flat_index_base, )

/* x86-64 with GCC or clang: the same loop compiled for AVX2 too (4 points a vector instead of 2), chosen
   at run time; no FMA (the flags say -ffp-contract=off, and AVX2 alone has no fused multiply-add) */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) && !defined(__AVX2__)
#define HAVE_AVX2_CLONE 1
DEFINE_FLAT_INDEX(flat_index_avx2, __attribute__((target("avx2"))))
static int use_avx2 = 0; /* set once when the module is imported */
static int flat_index(const double *X, const double *Y, int m, const Consts *c, int32_t *flat, int32_t *sidx,
                      uint8_t *okv)
{
    return use_avx2 ? flat_index_avx2(X, Y, m, c, flat, sidx, okv) : flat_index_base(X, Y, m, c, flat, sidx, okv);
}
#else
#define flat_index flat_index_base
#endif

/* one call's arrays and constants */
typedef struct {
    const double *fx, *fy;
    uint8_t *status, *reason;
    int32_t *part;
    int64_t *exact;
    const void *packed, *fine;
    const int32_t *super;
    const int64_t *start;
    const uint16_t *occ;
    Py_ssize_t n, base, pks, fks, ncells, snx;
    int64_t nx, ny, sub, nbits, nfine, ntiles;
    double x0, y0, inv_dx, inv_dy, bx0, by0, bx1, by1;
    int has_tiles, mode;
} Job;

/* The loop (no Python object touched: runs without the GIL). Every constant is copied into a local
   that nothing can alias, so the compiler keeps them in registers across the byte stores. Returns the
   number of points left exact, or -1 (fallback). */
static Py_ssize_t run_job(const Job *J)
{
    const double *fx = J->fx, *fy = J->fy;
    uint8_t *status = J->status, *reason = J->reason;
    int32_t *part = J->part;
    int64_t *exact = J->exact;
    const void *packed = J->packed, *fine = J->fine;
    const int64_t *start = J->start;
    const uint16_t *occ = J->occ;
    const Py_ssize_t n = J->n, base = J->base, pks = J->pks, fks = J->fks;
    const int64_t ncells = (int64_t)J->ncells;
    const int64_t nx = J->nx, sub = J->sub, nbits = J->nbits, nfine = J->nfine, ntiles = J->ntiles;
    const double x0 = J->x0, y0 = J->y0, inv_dx = J->inv_dx, inv_dy = J->inv_dy;
    const double bx0 = J->bx0, by0 = J->by0, bx1 = J->bx1, by1 = J->by1;
    const int has_tiles = J->has_tiles, mode = J->mode;
    const double nxf = (double)nx, nyf = (double)J->ny;
    const double subf = (double)sub;
    Py_ssize_t c0, count = 0;
    int32_t flat[CHUNK], sidx[CHUNK], pk[CHUNK];
    uint8_t okv[CHUNK], flag[CHUNK + 8];
    int cand[CHUNK];
    Py_ssize_t nexact = 0;
    const int32_t *super = J->super;
    Consts C;
    C.x0 = x0;
    C.y0 = y0;
    C.inv_dx = inv_dx;
    C.inv_dy = inv_dy;
    C.xhi = (double)(nx - 1);
    C.yhi = (double)(J->ny - 1);
    C.nxf = nxf;
    C.bx0 = bx0;
    C.by0 = by0;
    C.bx1 = bx1;
    C.by1 = by1;
    C.last = (int32_t)(ncells - 1);
    C.nx = (int32_t)nx;
    C.snx = (int32_t)J->snx;
    C.lastrow = (int32_t)(J->ny - 1);
    C.mode = mode;

    for (c0 = 0; c0 < n; c0 += CHUNK) {
        const int m = (int)(n - c0 < CHUNK ? n - c0 : CHUNK);
        const double *cx_in = fx + c0, *cy_in = fy + c0;
        int j, ncand, anybad = 0;
        /* 1. the flat cell index of every point (a loop the compiler vectorises, see flat_index) */
        anybad = flat_index(cx_in, cy_in, m, &C, flat, sidx, okv);
        /* 2. the packed code from the super table (a few KB: in the L1 cache), and which points need more:
              those of a mixed super cell (their code is read from the grid) and those whose code is exact */
        for (j = 0; j < m; j++) {
            const int32_t q = super[sidx[j]];
            pk[j] = q;
            flag[j] = (uint8_t)((q == SUPER_MIXED) | ((q & 7) == PACKED_EXACT));
        }
        ncand = 0;
        memset(flag + m, 0, 8); /* the last chunk's tail */
        for (j = 0; j < m; j += 8) { /* the few flagged points, eight flags at a time */
            uint64_t w;
            int b;
            memcpy(&w, flag + j, sizeof w);
            if (w == 0) continue;
            for (b = 0; b < 8; b++) {
                cand[ncand] = j + b;
                ncand += flag[j + b];
            }
        }
        /* the grid's code of the flagged points (the same as the super table's where that is uniform) */
        if (pks == 1) {
            const int8_t *p = (const int8_t *)packed;
            for (j = 0; j < ncand; j++) pk[cand[j]] = p[flat[cand[j]]];
        } else if (pks == 2) {
            const int16_t *p = (const int16_t *)packed;
            for (j = 0; j < ncand; j++) pk[cand[j]] = p[flat[cand[j]]];
        } else {
            const int32_t *p = (const int32_t *)packed;
            for (j = 0; j < ncand; j++) pk[cand[j]] = p[flat[cand[j]]];
        }
        /* 3. status and part; the points of exact cells; the invalid points */
        for (j = 0; j < m; j++) {
            const int32_t q = pk[j];
            status[c0 + j] = (uint8_t)(q & 7);
            part[c0 + j] = packed_part(q);
        }
        if (anybad) {
            for (j = 0; j < m; j++) {
                const Py_ssize_t k = c0 + j;
                double x, y;
                uint8_t r = R_MISSING;
                if (okv[j]) continue;
                x = fx[k];
                y = fy[k];
                if (mode != MODE_PROJECTED && is_finite(x) && is_finite(y)) {
                    if (fabs(x) > 180.0) r = R_LON;
                    if (fabs(y) > 90.0) r = R_LAT;
                    if (mode == MODE_CHINA && fabs(x) <= 180.0 && fabs(y) <= 90.0) r = R_CHINA;
                }
                status[k] = ST_INVALID;
                part[k] = -1;
                reason[k] = r;
            }
        }
        /* the points of exact cells (an invalid point never is one: its cell is an outer one) */
        for (j = 0; j < ncand; j++) {
            const int c = cand[j];
            exact[nexact] = (int64_t)(c0 + c);
            nexact += ((pk[c] & 7) == PACKED_EXACT) & okv[c];
        }
    }
    if (!has_tiles) {
        count = nexact;
    } else {
        /* 4. the fine stage for the points of exact cells: the cell's tile (bucket + popcount) and the fine
              cell in it, for groups of points at a time so that their reads of the tile index and of the
              tiles overlap; the points still exact are compacted to the front of exact[] */
        Py_ssize_t g0;
        for (g0 = 0; g0 < nexact; g0 += GROUP) {
            const int gm = (int)(nexact - g0 < GROUP ? nexact - g0 : GROUP);
            int64_t kk[GROUP], bucket[GROUP], ix[GROUP], iy[GROUP];
            unsigned int mask[GROUP];
            int64_t st[GROUP];
            double tx[GROUP], ty[GROUP];
            int i;
            for (i = 0; i < gm; i++) {
                const int64_t k = exact[g0 + i];
                int64_t cell;
                kk[i] = k;
                tx[i] = (fx[k] - x0) * inv_dx;
                ty[i] = (fy[k] - y0) * inv_dy;
                if (!(tx[i] >= 0.0 && tx[i] < nxf && ty[i] >= 0.0 && ty[i] < nyf))
                    return -1; /* cannot happen on a built grid: let numpy answer the block */
                ix[i] = (int64_t)tx[i];
                iy[i] = (int64_t)ty[i];
                cell = iy[i] * nx + ix[i];
                if (cell > nbits - 1) cell = nbits - 1;
                bucket[i] = cell;
            }
            for (i = 0; i < gm; i++) {
                const int64_t bk = bucket[i] >> TILE_BUCKET_BITS;
                mask[i] = occ[bk];
                st[i] = start[bk];
            }
            for (i = 0; i < gm; i++) {
                const unsigned int bit = (unsigned int)(bucket[i] & (TILE_BUCKET - 1)), occ_bits = mask[i];
                if ((occ_bits >> bit) & 1u) {
                    double ftx, fty;
                    int64_t t = st[i] + POPCOUNT16(occ_bits & ((1u << bit) - 1u)), sx, sy, idx;
                    if (t > ntiles - 1) t = ntiles - 1;
                    ftx = tx[i] - (double)ix[i];
                    ftx = ftx * subf;
                    fty = ty[i] - (double)iy[i];
                    fty = fty * subf;
                    sx = (int64_t)ftx;
                    sy = (int64_t)fty;
                    if (sx > sub - 1) sx = sub - 1;
                    if (sy > sub - 1) sy = sub - 1;
                    idx = t * sub * sub + sy * sub + sx;
                    if (idx < 0 || idx >= nfine) return -1;
                    bucket[i] = idx;
                } else {
                    bucket[i] = -1; /* not a tile (rounding at a cell edge): the exact test with every part */
                }
            }
            for (i = 0; i < gm; i++) {
                const int64_t k = kk[i];
                const int32_t q = bucket[i] >= 0 ? read_packed(fine, (Py_ssize_t)bucket[i], fks)
                                                 : (-2 * (1 << PACKED_SHIFT)) | PACKED_EXACT;
                status[k] = (uint8_t)(q & 7);
                part[k] = packed_part(q);
                exact[count] = k;
                count += (q & 7) == PACKED_EXACT;
            }
        }
    }
    if (base != 0) {
        Py_ssize_t i;
        for (i = 0; i < count; i++) exact[i] += base;
    }
    return count;
}

PyDoc_STRVAR(lookup_doc,
"lookup(fx, fy, status, part, reason, exact_out, base, grid) -> int\n\n"
"Status and part of points from a lookup grid, coarse and fine stage in one pass (GIL released).\n\n"
"fx, fy: float64 frame coordinates; status (uint8), part (int32), reason (uint8, written for invalid\n"
"points only) and exact_out (int64, one slot per point): outputs. ``grid`` is the tuple\n"
"locate._kernel_grid builds: (packed, start, occ, fine_packed, x0, y0, inv_dx, inv_dy, nx, ny, sub,\n"
"has_tiles, mode, bx0, by0, bx1, by1, floor_by_bits, super, snx). Returns the number of points left to the exact\n"
"predicate (their indices + base in exact_out), or -1 when the block must be redone by the numpy\n"
"path (a point in an exact cell outside the grid: never on a grid built by xclz_geo.geo.grid).");

static PyObject *lookup(PyObject *self, PyObject *args)
{
    PyObject *o_fx, *o_fy, *o_status, *o_part, *o_reason, *o_exact, *grid;
    Py_ssize_t base;
    PyObject *o_packed, *o_start, *o_occ, *o_fine, *o_super;
    double x0, y0, inv_dx, inv_dy, bx0, by0, bx1, by1;
    Py_ssize_t nx, ny, sub, snx;
    int has_tiles, mode, floor_by_bits;
    Py_buffer b[NBUF];
    int i;
    Py_ssize_t n, count = 0;
    (void)self;

    if (!PyArg_ParseTuple(args, "OOOOOOnO!:lookup", &o_fx, &o_fy, &o_status, &o_part, &o_reason, &o_exact, &base,
                          &PyTuple_Type, &grid))
        return NULL;
    if (!PyArg_ParseTuple(grid, "OOOOddddnnnpiddddpOn:lookup grid", &o_packed, &o_start, &o_occ, &o_fine, &x0, &y0,
                          &inv_dx, &inv_dy, &nx, &ny, &sub, &has_tiles, &mode, &bx0, &by0, &bx1, &by1, &floor_by_bits,
                          &o_super, &snx))
        return NULL;
    if (nx < 1 || ny < 1 || sub < 0 || mode < 0 || mode > 2 || snx != ((nx + (1 << SUPER_BITS) - 1) >> SUPER_BITS)) {
        PyErr_SetString(PyExc_ValueError, "_lookup: bad grid parameters");
        return NULL;
    }
    for (i = 0; i < NBUF; i++) b[i].obj = NULL;
#define FAIL goto done
    if (get_buf(o_fx, &b[0], 0, 8, "d", "fx") < 0) FAIL;
    if (get_buf(o_fy, &b[1], 0, 8, "d", "fy") < 0) FAIL;
    if (get_buf(o_status, &b[2], 1, 1, "B", "status") < 0) FAIL;
    if (get_buf(o_part, &b[3], 1, 4, signed_kinds(4), "part") < 0) FAIL;
    if (get_buf(o_reason, &b[4], 1, 1, "B", "reason") < 0) FAIL;
    if (get_buf(o_exact, &b[5], 1, 8, signed_kinds(8), "exact_out") < 0) FAIL;
    {
        Py_buffer probe;
        Py_ssize_t ps;
        if (PyObject_GetBuffer(o_packed, &probe, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) FAIL;
        ps = probe.itemsize;
        PyBuffer_Release(&probe);
        if (ps != 1 && ps != 2 && ps != 4) {
            PyErr_SetString(PyExc_TypeError, "_lookup: packed must be int8, int16 or int32");
            FAIL;
        }
        if (get_buf(o_packed, &b[6], 0, ps, signed_kinds(ps), "packed") < 0) FAIL;
    }
    if (has_tiles) {
        Py_buffer probe;
        Py_ssize_t ps;
        if (get_buf(o_start, &b[7], 0, 8, signed_kinds(8), "start") < 0) FAIL;
        if (get_buf(o_occ, &b[8], 0, 2, "H", "occ") < 0) FAIL;
        if (PyObject_GetBuffer(o_fine, &probe, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) FAIL;
        ps = probe.itemsize;
        PyBuffer_Release(&probe);
        if (ps != 1 && ps != 2 && ps != 4) {
            PyErr_SetString(PyExc_TypeError, "_lookup: fine_packed must be int8, int16 or int32");
            FAIL;
        }
        if (get_buf(o_fine, &b[9], 0, ps, signed_kinds(ps), "fine_packed") < 0) FAIL;
    }
    if (get_buf(o_super, &b[10], 0, 4, signed_kinds(4), "super") < 0) FAIL;
    if (b[10].len / 4 != snx * ((ny + (1 << SUPER_BITS) - 1) >> SUPER_BITS)) {
        PyErr_SetString(PyExc_ValueError, "_lookup: the super table does not fit the grid");
        FAIL;
    }
    n = b[0].len / 8;
    if (b[1].len / 8 != n || b[2].len != n || b[3].len / 4 != n || b[4].len != n
        || b[5].len / 8 < n) {
        PyErr_SetString(PyExc_ValueError, "_lookup: the point and output arrays differ in length");
        FAIL;
    }
    if (nx > PY_SSIZE_T_MAX / ny || b[6].len / b[6].itemsize != nx * ny) {
        PyErr_SetString(PyExc_ValueError, "_lookup: packed does not hold nx * ny cells");
        FAIL;
    }
    if (has_tiles && (sub < 1 || b[7].len / 8 != b[8].len / 2 || b[8].len < 2 || b[9].len == 0
                      || (b[9].len / b[9].itemsize) % (sub * sub) != 0)) {
        PyErr_SetString(PyExc_ValueError, "_lookup: inconsistent refinement arrays");
        FAIL;
    }

    {
        Job J;
        J.fx = (const double *)b[0].buf;
        J.fy = (const double *)b[1].buf;
        J.status = (uint8_t *)b[2].buf;
        J.part = (int32_t *)b[3].buf;
        J.reason = (uint8_t *)b[4].buf;
        J.exact = (int64_t *)b[5].buf;
        J.packed = b[6].buf;
        J.super = (const int32_t *)b[10].buf;
        J.snx = snx;
        J.pks = b[6].itemsize;
        J.ncells = nx * ny;
        J.start = has_tiles ? (const int64_t *)b[7].buf : NULL;
        J.occ = has_tiles ? (const uint16_t *)b[8].buf : NULL;
        J.fine = has_tiles ? b[9].buf : NULL;
        J.fks = has_tiles ? b[9].itemsize : 1;
        J.nbits = has_tiles ? (int64_t)(b[8].len / 2) * TILE_BUCKET : 0;
        J.nfine = has_tiles ? (int64_t)(b[9].len / b[9].itemsize) : 0;
        J.ntiles = has_tiles ? J.nfine / ((int64_t)sub * sub) : 0;
        J.n = n;
        J.base = base;
        J.nx = nx;
        J.ny = ny;
        J.sub = sub;
        J.x0 = x0;
        J.y0 = y0;
        J.inv_dx = inv_dx;
        J.inv_dy = inv_dy;
        J.bx0 = bx0;
        J.by0 = by0;
        J.bx1 = bx1;
        J.by1 = by1;
        J.has_tiles = has_tiles;
        J.mode = mode;
        if (!floor_by_bits || (int64_t)J.ncells >= ((int64_t)1 << 31)) {
            count = -1; /* a 32-bit build (numpy's other float-to-int step) or a grid of 2**31 cells: numpy */
        } else {
            Py_BEGIN_ALLOW_THREADS
            count = run_job(&J);
            Py_END_ALLOW_THREADS
        }
    }
done:
    for (i = 0; i < NBUF; i++)
        if (b[i].obj != NULL) PyBuffer_Release(&b[i]);
    if (PyErr_Occurred()) return NULL;
    return PyLong_FromSsize_t(count);
#undef FAIL
}

static PyMethodDef methods[] = {
    {"lookup", lookup, METH_VARARGS, lookup_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_lookup",
    "Compiled point-in-zone lookup of xclz_geo.geo.locate (coarse and fine grid stage in one pass).", -1, methods,
    NULL, NULL, NULL, NULL,
};

#ifdef HAVE_AVX2_CLONE
#define SIMD_NAME (use_avx2 ? "avx2" : "baseline")
#else
#define SIMD_NAME "baseline"
#endif

PyMODINIT_FUNC PyInit__lookup(void)
{
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL) return NULL;
#ifdef HAVE_AVX2_CLONE
    __builtin_cpu_init();
    use_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
    if (PyModule_AddIntConstant(m, "ABI", 1) < 0 || PyModule_AddStringConstant(m, "SIMD", SIMD_NAME) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
