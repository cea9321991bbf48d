/*
 * Drift statistics: PSI with Evidently's empty-bin treatment, the Jensen-Shannon distance of
 * scipy.spatial.distance.jensenshannon, and the two-sample Kolmogorov-Smirnov test as
 * scipy.stats.ks_2samp computes it (method 'auto': the exact lattice-path recursion of Hodges /
 * Viehmann when both samples have at most 10000 values, else kstwo.sf with n = round(en), which
 * follows Simard & L'Ecuyer: Durbin matrix, Pomeranz, Pelz-Good, Smirnov sums). A port of
 * scipy 1.10's _stats_py.py and _ksstats.py to C. Calls: libm only.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift.h"

const char *drift_status_name(enum drift_status s)
{
    return s == DRIFT_CRITICAL ? "critical" : s == DRIFT_WARNING ? "warning" : "healthy";
}

enum drift_status drift_status_of(double psi)
{
    if (psi >= DRIFT_PSI_CRITICAL)
        return DRIFT_CRITICAL;
    if (psi >= DRIFT_PSI_WARNING)
        return DRIFT_WARNING;
    return DRIFT_HEALTHY;
}

/* Evidently: zeros -> min(nonzero)/1e6 if min(nonzero) <= 1e-4, else 1e-4. */
static double zero_fill(const double *v, size_t n)
{
    double mn = INFINITY;
    for (size_t i = 0; i < n; i++)
        if (v[i] > 0 && v[i] < mn)
            mn = v[i];
    if (!isfinite(mn))
        return NAN;
    return mn <= 0.0001 ? mn / 1e6 : 0.0001;
}

double drift_psi(const double *ref, const double *cur, size_t nbins)
{
    double zr = zero_fill(ref, nbins), zc = zero_fill(cur, nbins);
    if (isnan(zr) || isnan(zc))
        return NAN;
    double psi = 0;
    for (size_t i = 0; i < nbins; i++) {
        double r = ref[i] > 0 ? ref[i] : zr, c = cur[i] > 0 ? cur[i] : zc;
        psi += (r - c) * log(r / c);
    }
    return psi;
}

static double rel_entr(double x, double y)
{
    if (x > 0 && y > 0)
        return x * log(x / y);
    if (x == 0 && y >= 0)
        return 0;
    return INFINITY;
}

double drift_js_distance(const double *p, const double *q, size_t n)
{
    double sp = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        sp += p[i];
        sq += q[i];
    }
    if (!(sp > 0) || !(sq > 0))
        return NAN;
    double left = 0, right = 0;
    for (size_t i = 0; i < n; i++) {
        double a = p[i] / sp, b = q[i] / sq, m = (a + b) / 2.0;
        left += rel_entr(a, m);
        right += rel_entr(b, m);
    }
    double js = left + right;
    return sqrt(js / 2.0);
}

double drift_ks_stat_sorted(const double *a, size_t n, const double *b, size_t m)
{
    /* max |F_a - F_b| over the points of both samples, right-continuous ECDFs. */
    size_t i = 0, j = 0;
    double d = 0;
    while (i < n || j < m) {
        double x = (j >= m || (i < n && a[i] <= b[j])) ? a[i] : b[j];
        while (i < n && a[i] <= x)
            i++;
        while (j < m && b[j] <= x)
            j++;
        double diff = fabs((double)i / (double)n - (double)j / (double)m);
        if (diff > d)
            d = diff;
    }
    return d;
}

/* ---- exact two-sample p-values (_stats_py.py) ---- */

static double prob_outside_square(int64_t n, int64_t h)
{
    double P = 0.0;
    int64_t k = n / h;
    while (k >= 0) {
        double p1 = 1.0;
        for (int64_t j = 0; j < h; j++)
            p1 = (double)(n - k * h - j) * p1 / (double)(n + k * h + j + 1);
        P = p1 * (1.0 - P);
        k--;
    }
    return 2 * P;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t ceildiv(int64_t a, int64_t b)
{
    return -floordiv(-a, b);
}

/* Viehmann's 1 - p recursion of the inside method; NAN when memory runs out. */
static double outer_prob_inside(int64_t m, int64_t n, int64_t g, int64_t h)
{
    if (m < n) {
        int64_t t = m;
        m = n;
        n = t;
    }
    int64_t mg = m / g, ng = n / g;
    int64_t minj = 0, maxj = ceildiv(h, mg);
    if (maxj > n + 1)
        maxj = n + 1;
    int64_t curlen = maxj - minj;
    int64_t lenA = 2 * maxj + 2 < n + 1 ? 2 * maxj + 2 : n + 1;
    double *A = malloc((size_t)(lenA > 0 ? lenA : 1) * sizeof *A);
    if (!A)
        return NAN;
    for (int64_t i = 0; i < lenA; i++)
        A[i] = 1.0;
    for (int64_t i = minj; i < maxj; i++)
        A[i] = 0.0;
    double result;
    for (int64_t i = 1; i <= m; i++) {
        int64_t lastminj = minj, lastlen = curlen;
        minj = floordiv(ng * i - h, mg) + 1;
        if (minj < 0)
            minj = 0;
        if (minj > n)
            minj = n;
        maxj = ceildiv(ng * i + h, mg);
        if (maxj > n + 1)
            maxj = n + 1;
        if (maxj <= minj) {
            free(A);
            return 1.0;
        }
        double val = minj == 0 ? 0.0 : 1.0;
        for (int64_t jj = 0; jj < maxj - minj; jj++) {
            int64_t j = jj + minj;
            val = (A[jj + minj - lastminj] * (double)i + val * (double)j) / (double)(i + j);
            A[jj] = val;
        }
        curlen = maxj - minj;
        if (lastlen > curlen)
            for (int64_t k = maxj - minj; k < maxj - minj + (lastlen - curlen) && k < lenA; k++)
                A[k] = 1;
    }
    result = A[maxj - minj - 1];
    free(A);
    return result;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* ---- kstwo.sf (_ksstats.py) ---- */

#define E128 128
static const double MIN_LOG = -708;

static double clip01(double p)
{
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

static double log_nfact_div_npown(double n)
{
    static const double c[] = {-2.955065359477124183e-2,  6.4102564102564102564e-3,
                               -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                               -5.952380952380952381e-4,  7.9365079365079365079e-4,
                               -2.7777777777777777778e-3, 8.3333333333333333333e-2};
    double rn = 1.0 / n, x = rn / n, poly = 0;
    for (size_t i = 0; i < 8; i++)
        poly = poly * x + c[i];
    return log(n) / 2 - n + log(2 * M_PI) / 2 + rn * poly;
}

/* One-sided Smirnov survival function P(D+_n >= x) (scipy.special.smirnov). */
static double smirnov_sf(double n, double x)
{
    if (!(x > 0))
        return 1.0;
    if (x >= 1.0)
        return 0.0;
    int64_t nn = (int64_t)n, jmax = (int64_t)floor(n * (1 - x));
    double lgn = lgamma(n + 1), sum = 0;
    for (int64_t j = 0; j <= jmax; j++) {
        double a = x + (double)j / n, b = 1 - x - (double)j / n;
        if (b <= 0 && nn - j > 0)
            continue;
        double lt = lgn - lgamma((double)j + 1) - lgamma((double)(nn - j) + 1) +
                    (double)(j - 1) * log(a) + (nn - j > 0 ? (double)(nn - j) * log(b) : 0);
        sum += exp(lt);
    }
    return clip01(x * sum);
}

static void matmul(const double *a, const double *b, double *out, int k)
{
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double s = 0;
            for (int l = 0; l < k; l++)
                s += a[i * k + l] * b[l * k + j];
            out[i * k + j] = s;
        }
}

/* Durbin matrix (Marsaglia-Tsang-Wang): CDF P(D_n <= d). */
static double kolmogn_dmtw(double n, double d)
{
    if (d >= 1.0)
        return 1.0;
    double nd = n * d;
    if (nd <= 0.5)
        return 0.0;
    int k = (int)ceil(nd);
    double h = k - nd;
    int m = 2 * k - 1;
    size_t sz = (size_t)m * (size_t)m;
    double *H = calloc(sz, sizeof *H), *P = calloc(sz, sizeof *P), *T = calloc(sz, sizeof *T);
    double *v = calloc((size_t)m, sizeof *v), *w = calloc((size_t)m, sizeof *w);
    double p = NAN;
    if (!H || !P || !T || !v || !w)
        goto out;
    double fac = 1.0;
    for (int j = 1; j <= m; j++) {
        v[j - 1] = 1.0 - pow(h, j);
        w[j - 1] = fac;
        fac /= j;
        v[j - 1] *= fac;
    }
    double tt = pow(fmax(2 * h - 1.0, 0), m) - 2 * pow(h, m);
    v[m - 1] = (1.0 + tt) * fac;
    for (int i = 1; i < m; i++)
        for (int r = i - 1; r < m; r++)
            H[r * m + i] = w[r - (i - 1)];
    for (int r = 0; r < m; r++)
        H[r * m] = v[r];
    for (int c = 0; c < m; c++)
        H[(m - 1) * m + c] = v[m - 1 - c];
    for (int i = 0; i < m; i++)
        P[i * m + i] = 1.0;
    int64_t nn = (int64_t)n;
    int expnt = 0, Hexpnt = 0;
    while (nn > 0) {
        if (nn % 2) {
            matmul(P, H, T, m);
            memcpy(P, T, sz * sizeof *T);
            expnt += Hexpnt;
        }
        matmul(H, H, T, m);
        memcpy(H, T, sz * sizeof *T);
        Hexpnt *= 2;
        if (fabs(H[(k - 1) * m + (k - 1)]) > ldexp(1, E128)) {
            for (size_t i = 0; i < sz; i++)
                H[i] = ldexp(H[i], -E128);
            Hexpnt += E128;
        }
        nn /= 2;
    }
    p = P[(k - 1) * m + (k - 1)];
    for (int64_t i = 1; i <= (int64_t)n; i++) {
        p = (double)i * p / n;
        if (fabs(p) < ldexp(1, -E128)) {
            p = ldexp(p, E128);
            expnt -= E128;
        }
    }
    if (expnt != 0)
        p = ldexp(p, expnt);
    p = clip01(p);
out:
    free(H);
    free(P);
    free(T);
    free(v);
    free(w);
    return p;
}

static void pomeranz_j1j2(int64_t i, int64_t n, int64_t ll, int ceilf, int roundf, int64_t *j1o,
                          int64_t *j2o)
{
    int64_t j1, j2;
    if (i == 0) {
        j1 = -ll - ceilf - 1;
        j2 = ll + ceilf - 1;
    } else {
        int64_t ip1div2 = (i + 1) / 2, ip1mod2 = (i + 1) % 2;
        if (ip1mod2 == 0) {
            if (ip1div2 == n + 1) {
                j1 = n - ll - ceilf - 1;
                j2 = n + ll + ceilf - 1;
            } else {
                j1 = ip1div2 - 1 - ll - roundf - 1;
                j2 = ip1div2 + ll - 1 + ceilf - 1;
            }
        } else {
            j1 = ip1div2 - 1 - ll - 1;
            j2 = ip1div2 + ll + roundf - 1;
        }
    }
    *j1o = j1 + 2 > 0 ? j1 + 2 : 0;
    *j2o = j2 < n ? j2 : n;
}

/* Pomeranz recursion: CDF P(D_n <= x) (n <= 140 only). */
static double kolmogn_pomeranz(double nd, double x)
{
    int64_t n = (int64_t)nd;
    double t = nd * x;
    int64_t ll = (int64_t)floor(t);
    double f = t - (double)ll, g = fmin(f, 1.0 - f);
    int ceilf = f > 0, roundf = f > 0.5;
    int64_t npwrs = 2 * (ll + 1);
    double *gp = malloc((size_t)npwrs * sizeof(double)),
           *tgp = malloc((size_t)npwrs * sizeof(double));
    double *omp = malloc((size_t)npwrs * sizeof(double)),
           *V0 = calloc((size_t)npwrs, sizeof(double));
    double *V1 = calloc((size_t)npwrs, sizeof(double));
    double *conv = calloc((size_t)(2 * npwrs + 1), sizeof(double));
    double ans = NAN;
    if (!gp || !tgp || !omp || !V0 || !V1 || !conv)
        goto out;
    gp[0] = tgp[0] = omp[0] = 1.0;
    int expnt = 0;
    for (int64_t m = 1; m < npwrs; m++) {
        gp[m] = gp[m - 1] * (g / nd) / (double)m;
        tgp[m] = tgp[m - 1] * (2 * g / nd) / (double)m;
        omp[m] = omp[m - 1] * ((1 - 2 * g) / nd) / (double)m;
    }
    V1[0] = 1;
    int64_t V0s = 0, V1s = 0, j1, j2;
    pomeranz_j1j2(0, n, ll, ceilf, roundf, &j1, &j2);
    for (int64_t i = 1; i < 2 * n + 2; i++) {
        int64_t k1 = j1;
        double *tmp = V0;
        V0 = V1;
        V1 = tmp;
        int64_t ts = V0s;
        V0s = V1s;
        V1s = ts;
        memset(V1, 0, (size_t)npwrs * sizeof(double));
        pomeranz_j1j2(i, n, ll, ceilf, roundf, &j1, &j2);
        const double *pw = (i == 1 || i == 2 * n + 1) ? gp : (i % 2 ? tgp : omp);
        int64_t ln2 = j2 - k1 + 1;
        if (ln2 > 0) {
            /* full convolution of V0[k1-V0s .. +ln2) with pw[0..ln2) (numpy slices clip) */
            int64_t a0 = k1 - V0s, alen = ln2;
            if (a0 + alen > npwrs)
                alen = npwrs - a0;
            int64_t blen = ln2 < npwrs ? ln2 : npwrs;
            if (alen < 0)
                alen = 0;
            int64_t clen = alen + blen - 1;
            for (int64_t c = 0; c < clen; c++)
                conv[c] = 0;
            for (int64_t p = 0; p < alen; p++)
                for (int64_t q = 0; q < blen; q++)
                    conv[p + q] += V0[a0 + p] * pw[q];
            int64_t cs = j1 - k1, cl = j2 - j1 + 1;
            double mx = 0;
            for (int64_t c = 0; c < cl && cs + c < clen; c++) {
                V1[c] = conv[cs + c];
                if (V1[c] > mx)
                    mx = V1[c];
            }
            if (0 < mx && mx < ldexp(1, -E128)) {
                for (int64_t c = 0; c < npwrs; c++)
                    V1[c] = ldexp(V1[c], E128);
                expnt -= E128;
            }
            V1s = V0s + j1 - k1;
        }
    }
    ans = V1[n - V1s];
    for (int64_t m = 1; m <= n; m++) {
        if (fabs(ans) > ldexp(1, E128)) {
            ans = ldexp(ans, -E128);
            expnt += E128;
        }
        ans *= (double)m;
    }
    if (expnt != 0)
        ans = ldexp(ans, expnt);
    ans = clip01(ans);
out:
    free(gp);
    free(tgp);
    free(omp);
    free(V0);
    free(V1);
    free(conv);
    return ans;
}

/* Pelz-Good approximation: CDF P(D_n <= x). */
static double kolmogn_pelzgood(double n, double x)
{
    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    const double PI2 = M_PI * M_PI, PI4 = PI2 * PI2, PI6 = PI4 * PI2;
    const double SQRT2PI = sqrt(2 * M_PI), SQRT3 = sqrt(3.0);
    double z = sqrt(n) * x, z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
    double qlog = -PI2 / 8 / z2;
    if (qlog < MIN_LOG)
        return 0.0;
    double q = exp(qlog);
    double k1a = -z2, k1b = PI2 / 4;
    double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * PI2 / 4, k2c = PI4 * (1 - 2 * z2) / 16;
    double k3d = PI6 * (5 - 30 * z2) / 64, k3c = PI4 * (-60 * z2 + 212 * z4) / 16;
    double k3b = PI2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * pow(z, 8);
    double K[4] = {0, 0, 0, 0};
    int64_t maxk = (int64_t)ceil(16 * z / M_PI);
    for (int64_t k = maxk; k > 0; k--) {
        double m = (double)(2 * k - 1), m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
        double qp = pow(q, (double)(8 * k));
        double co[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                        k3a + k3b * m2 + k3c * m4 + k3d * m6};
        for (int i = 0; i < 4; i++)
            K[i] = K[i] * qp + co[i];
    }
    double den[4] = {z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)};
    for (int i = 0; i < 4; i++)
        K[i] = K[i] * q * SQRT2PI / den[i];
    q = exp(-PI2 / 2 / z2);
    double k2extra = 0, k3extra = 0, sqrt3z = SQRT3 * z;
    for (int64_t k = maxk; k > 0; k--) {
        double ks2 = (double)(k * k), kspi = M_PI * (double)k, qp = pow(q, ks2);
        k2extra += ks2 * qp;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    K[2] += k2extra * PI2 * SQRT2PI / (-36 * z3);
    K[3] += k3extra * PI2 * SQRT2PI / (216 * z6);
    double sum = 0;
    for (int i = 0; i < 4; i++)
        sum += K[i] / pow(n, i / 2.0);
    return sum;
}

double drift_kolmogn_sf(double n, double x)
{
    if (isnan(n) || isnan(x) || n <= 0 || floor(n) != n)
        return NAN;
    if (x >= 1.0)
        return 0.0;
    if (x <= 0.0)
        return 1.0;
    double t = n * x, prob;
    if (t <= 1.0) {
        if (t <= 0.5)
            return 1.0;
        if (n <= 140) {
            prob = 1;
            for (int64_t i = 1; i <= (int64_t)n; i++)
                prob *= (double)i * (1.0 / n) * (2 * t - 1);
        } else {
            prob = exp(log_nfact_div_npown(n) + n * log(2 * t - 1));
        }
        return clip01(1.0 - prob);
    }
    if (t >= n - 1)
        return clip01(2 * pow(1.0 - x, n));
    if (x >= 0.5)
        return clip01(2 * smirnov_sf(n, x));
    double nx2 = t * x;
    if (n <= 140) {
        if (nx2 <= 0.754693)
            return clip01(1.0 - kolmogn_dmtw(n, x));
        if (nx2 <= 4)
            return clip01(1.0 - kolmogn_pomeranz(n, x));
        return clip01(2 * smirnov_sf(n, x));
    }
    if (nx2 >= 370.0)
        return 0.0;
    if (nx2 >= 2.2)
        return clip01(2 * smirnov_sf(n, x));
    double cdf;
    if (nx2 >= 18.0)
        cdf = 1.0;
    else if (n <= 100000 && n * pow(x, 1.5) <= 1.4)
        cdf = kolmogn_dmtw(n, x);
    else
        cdf = kolmogn_pelzgood(n, x);
    return clip01(1.0 - cdf);
}

double drift_ks_pvalue(uint64_t n1, uint64_t n2, double d, int force, double *d_out, int *exact)
{
    if (d_out)
        *d_out = d;
    if (exact)
        *exact = 0;
    if (n1 == 0 || n2 == 0 || isnan(d))
        return NAN;
    uint64_t g = gcd64(n1, n2);
    int mode = force; /* 1 exact, 2 asymp */
    if (mode == 0)
        mode = (n1 > n2 ? n1 : n2) <= 10000 ? 1 : 2;
    else if (mode == 1 && (double)(n1 / g) >= 2147483647.0 / (double)(n2 / g))
        mode = 2;
    if (mode == 1) {
        double lcm = (double)(n1 / g) * (double)n2;
        int64_t h = (int64_t)nearbyint(d * lcm);
        double dd = (double)h / lcm;
        double prob;
        if (h == 0)
            prob = 1.0;
        else if (n1 == n2)
            prob = prob_outside_square((int64_t)n1, h);
        else
            prob = outer_prob_inside((int64_t)n1, (int64_t)n2, (int64_t)g, h);
        if (isfinite(prob) && prob >= 0 && prob <= 1) {
            if (d_out)
                *d_out = dd;
            if (exact)
                *exact = 1;
            return clip01(prob);
        }
        d = dd;
        if (d_out)
            *d_out = dd;
    }
    double m = (double)(n1 > n2 ? n1 : n2), n = (double)(n1 > n2 ? n2 : n1);
    double en = m * n / (m + n);
    return clip01(drift_kolmogn_sf(nearbyint(en), d));
}
