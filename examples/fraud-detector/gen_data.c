/*
 * gen_data: the synthetic card-transaction data set of the fraud-detector example.
 *
 * Writes OUTDIR/train.csv and OUTDIR/test.csv (header + one row per transaction) with the shape
 * of the classic credit-card fraud data: "time" (second of the day), "amount", 28 anonymised
 * PCA-like components "v1".."v28" (independent, with decreasing spread, like principal
 * components) and the label "class" (1 = fraud, about 3% of rows). Fraud depends on several
 * features non-linearly (thresholds, interactions, night-time large purchases, card testing
 * with tiny amounts) plus noise, so a tree model has something real to learn and cannot be
 * perfect.
 *
 * The output is byte-identical on every machine: its own PRNG (xoshiro256** seeded through
 * splitmix64 from a fixed seed), normals from the Irwin-Hall sum of twelve uniforms and only
 * +, -, *, / and comparisons (no libm transcendentals whose last bit may differ between libcs;
 * the build also turns off floating-point contraction for this file).
 * Calls: libc only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define N_COMPONENTS 28
#define TRAIN_ROWS   48000
#define TEST_ROWS    12000
#define SEED         UINT64_C(20240611)

/* xoshiro256** (Blackman & Vigna), state filled by splitmix64. */
struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void rng_init(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits (exact in a double). */
static double rng_uniform(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Approximately standard normal (Irwin-Hall, 12 uniforms): mean 0, variance 1, range +-6. */
static double rng_normal(struct rng *r)
{
    double sum = 0.0;
    for (int i = 0; i < 12; i++)
        sum += rng_uniform(r);
    return sum - 6.0;
}

static double relu(double x)
{
    return x > 0.0 ? x : 0.0;
}

static double absd(double x)
{
    return x < 0.0 ? -x : x;
}

/* The fraud score: larger = more likely fraud. z are the standardised components (z[1]..z[28]),
 * hour is the hour of the day as a real number. The threshold below gives about 3% fraud. */
static double fraud_score(const double *z, double hour, double amount, double noise)
{
    double s = 0.0;
    s += 1.8 * relu(-z[14] - 1.2);                   /* strongly negative v14 */
    s += 1.5 * relu(z[4] - 1.0);                     /* strongly positive v4 */
    s += (z[12] < -1.0 && z[10] < -0.5) ? 1.2 : 0.0; /* v12 and v10 low together */
    s += (hour < 6.0 && amount > 150.0) ? 1.1 : 0.0; /* large purchases at night */
    s += (z[11] > 1.0 && amount < 5.0) ? 0.9 : 0.0;  /* card testing: tiny amounts */
    s += 0.5 * relu(absd(z[17]) - 1.5);              /* unusual v17 either way */
    s += (z[3] < -0.8 && z[7] > 0.8) ? 0.7 : 0.0;    /* v3 / v7 interaction */
    return s + 0.25 * noise;
}

#define FRAUD_THRESHOLD 2.1

static void write_header(FILE *f)
{
    fputs("time,amount", f);
    for (int k = 1; k <= N_COMPONENTS; k++)
        fprintf(f, ",v%d", k);
    fputs(",class\n", f);
}

/* Draws one transaction and writes it as a CSV row. Returns the label. */
static int write_row(FILE *f, struct rng *r, const double *sd)
{
    /* 80% of transactions happen between 07:00 and 23:00, the rest at any time. */
    double hour = rng_uniform(r) < 0.8 ? 7.0 + 16.0 * rng_uniform(r) : 24.0 * rng_uniform(r);
    long seconds = (long)(hour * 3600.0);
    if (seconds > 86399)
        seconds = 86399;

    /* Heavy-tailed amount: median about 47, mean about 250, at most 1500.5. */
    double u = rng_uniform(r);
    double amount = 0.5 + 1500.0 * u * u * u * u * u;
    long cents = (long)(amount * 100.0 + 0.5);
    amount = (double)cents / 100.0;

    double z[N_COMPONENTS + 1];
    for (int k = 1; k <= N_COMPONENTS; k++)
        z[k] = rng_normal(r);
    double noise = rng_normal(r);
    int fraud = fraud_score(z, hour, amount, noise) > FRAUD_THRESHOLD;

    fprintf(f, "%ld,%ld.%02ld", seconds, cents / 100, cents % 100);
    for (int k = 1; k <= N_COMPONENTS; k++)
        fprintf(f, ",%.6f", sd[k] * z[k]);
    fprintf(f, ",%d\n", fraud);
    return fraud;
}

/* Writes `rows` rows to dir/name. Returns 0 or 1 (message printed). */
static int write_split(const char *dir, const char *name, struct rng *r, const double *sd,
                       long rows)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "gen_data: %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    write_header(f);
    long frauds = 0;
    for (long i = 0; i < rows; i++)
        frauds += write_row(f, r, sd);
    if (fflush(f) != 0 || ferror(f) || fclose(f) != 0) {
        fprintf(stderr, "gen_data: %s: write failed: %s\n", tmp, strerror(errno));
        return 1;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "gen_data: %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("gen_data: %s: %ld rows, %ld fraud (%.2f%%)\n", path, rows, frauds,
           100.0 * (double)frauds / (double)rows);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr,
                "usage: gen_data OUTDIR\n"
                "  writes OUTDIR/train.csv (%d rows) and OUTDIR/test.csv (%d rows)\n",
                TRAIN_ROWS, TEST_ROWS);
        return 2;
    }
    const char *dir = argv[1];
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_data: %s: %s\n", dir, strerror(errno));
        return 1;
    }

    /* Spread of component k, decreasing like the variance explained by principal components. */
    double sd[N_COMPONENTS + 1];
    sd[1] = 2.0;
    for (int k = 2; k <= N_COMPONENTS; k++)
        sd[k] = sd[k - 1] * 0.93;

    struct rng r;
    rng_init(&r, SEED);
    if (write_split(dir, "train.csv", &r, sd, TRAIN_ROWS))
        return 1;
    if (write_split(dir, "test.csv", &r, sd, TEST_ROWS))
        return 1;
    return 0;
}
