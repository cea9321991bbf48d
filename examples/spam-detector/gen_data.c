/*
 * gen_data: writes the spam-detector example's labelled message corpus, deterministically.
 *
 *   gen_data OUTDIR      -> OUTDIR/train.tsv, OUTDIR/test.tsv
 *
 * Each line is "label<TAB>group<TAB>text": label 1 = spam, 0 = ham; group "en" (English) or
 * "intl" (Spanish and French, with accented UTF-8 text). The messages come from hand-written
 * templates whose slots are filled by a fixed linear congruential generator, so every run and
 * every machine writes the same bytes. Counts: 240 spam + 360 ham in English, 80 spam + 120
 * ham in the other languages (the spam share is 40 % in both groups); about one message in
 * twelve is a hard case (ham that talks about "free" or "won", spam that reads like a
 * friend). Every fourth message of each (group, label) stream goes to the test split, so both
 * splits keep those shares exactly. Calls: libc.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 20261123;

static unsigned next(unsigned n)
{
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((state >> 33) % n);
}

#define N(a) (sizeof(a) / sizeof(a)[0])

struct slot {
    const char *name;
    const char *const *values;
    size_t n;
};

static const char *const prize[] = {"iPhone", "holiday to Spain", "gift card", "laptop", "cruise",
                                    "car",    "voucher"};
static const char *const amount[] = {"$1000", "$500", "GBP 2,000", "$250", "5000 dollars", "$750"};
static const char *const word[] = {"WIN", "CLAIM", "YES", "PRIZE", "GO", "STOP"};
static const char *const num[] = {"80082", "87121", "69669", "85023", "61610"};
static const char *const phone[] = {"0800 123 456", "09061 701 461", "0871 277 810",
                                    "1-800-555-0199"};
static const char *const url[] = {"www.win-now.biz", "bit.ly/claim-now", "secure-verify.net",
                                  "www.bestdeals.cc", "claim.prize-center.info"};
static const char *const account[] = {"bank account", "PayPal account", "card", "mailbox"};
static const char *const deadline[] = {"midnight", "Friday", "the end of today", "24 hours"};
static const char *const meds[] = {"viagra", "pills", "meds", "weight loss tablets"};
static const char *const pct[] = {"50", "70", "90", "80"};
static const char *const product[] = {"Rolex watches", "designer bags", "sunglasses", "smartphones",
                                      "perfume"};
static const char *const price[] = {"$9.99", "$19", "$1", "$4.99"};
static const char *const meal[] = {"lunch", "dinner", "coffee", "breakfast", "drinks"};
static const char *const day[] = {"tomorrow",  "on Monday",    "on Tuesday",
                                  "on Friday", "this weekend", "tonight"};
static const char *const item[] = {"milk",       "bread",     "the kids",
                                   "my glasses", "some eggs", "the parcel"};
static const char *const minutes[] = {"10", "15", "20", "5", "30"};
static const char *const thing[] = {"dinner", "lift", "help", "birthday card", "book"};
static const char *const time_[] = {"3pm", "10am", "half past two", "noon", "6"};
static const char *const work[] = {"report", "slides", "budget", "homework", "review"};
static const char *const person[] = {"Sarah", "the boss", "Tom", "the client", "Dad"};
static const char *const name[] = {"Anna", "Ben", "Chris", "Dana", "Eli", "Fiona"};
static const char *const topic[] = {"the weekend", "the car", "work", "the flat", "mum"};
static const char *const game[] = {"tennis", "chess", "squash", "football"};
static const char *const event[] = {"interview", "exam", "concert", "match", "presentation"};
static const char *const premio[] = {"iPhone", "viaje", "coche", "premio"};
static const char *const comida[] = {"comer", "cenar", "un café"};
static const char *const dia[] = {"lunes", "martes", "viernes", "sábado"};
static const char *const prix[] = {"iPhone", "voyage", "bon d'achat"};
static const char *const jour[] = {"lundi", "mardi", "vendredi", "samedi"};

static const struct slot slots[] = {
    {"prize", prize, N(prize)},
    {"amount", amount, N(amount)},
    {"word", word, N(word)},
    {"num", num, N(num)},
    {"phone", phone, N(phone)},
    {"url", url, N(url)},
    {"account", account, N(account)},
    {"deadline", deadline, N(deadline)},
    {"meds", meds, N(meds)},
    {"pct", pct, N(pct)},
    {"product", product, N(product)},
    {"price", price, N(price)},
    {"meal", meal, N(meal)},
    {"day", day, N(day)},
    {"item", item, N(item)},
    {"minutes", minutes, N(minutes)},
    {"thing", thing, N(thing)},
    {"time", time_, N(time_)},
    {"work", work, N(work)},
    {"person", person, N(person)},
    {"name", name, N(name)},
    {"topic", topic, N(topic)},
    {"game", game, N(game)},
    {"event", event, N(event)},
    {"premio", premio, N(premio)},
    {"comida", comida, N(comida)},
    {"dia", dia, N(dia)},
    {"prix", prix, N(prix)},
    {"jour", jour, N(jour)},
};

static const char *const spam_en[] = {
    "WIN a FREE {prize} now! Text {word} to {num}",
    ("Congratulations! You have been selected to receive a {amount} {prize}. Call {phone} to "
     "claim"),
    "URGENT: your {account} has been suspended. Verify your details at {url} now",
    "You have WON {amount} cash! Claim your reward before {deadline}",
    "Cheap {meds} online, no prescription needed, {pct}% off today only",
    "Exclusive offer: {pct}% discount on {product}, click {url}",
    "FREE entry into our weekly {prize} draw. Reply {word} now to enter",
    "Earn {amount} a week working from home, no experience needed. Reply {word}",
    "Your loan of {amount} is pre-approved! Apply now at {url}",
    "Limited time: get {product} for just {price}, order now at {url}",
    "Dear customer, claim your unclaimed {amount} refund at {url} before {deadline}",
    "You are our lucky winner! A {prize} is waiting, call {phone} now",
};
static const char *const spam_en_hard[] = {
    "hey its me, look at these photos {url}",
    "Hi {name}, I found a way to make {amount} fast, ask me how",
};
static const char *const ham_en[] = {
    "Hey, are we still on for {meal} {day}?",
    "Can you pick up {item} on your way home?",
    "I'll be {minutes} minutes late, traffic is terrible",
    "Thanks for the {thing} yesterday, it was great",
    "Meeting moved to {time} {day}, same room",
    "Did you finish the {work} for {person}?",
    "Happy birthday {name}! Hope you have a lovely day",
    "Call me when you get a chance, it's about {topic}",
    "Mum says dinner is at {time}, don't forget {item}",
    "The {work} is due {day}, can we go through it at {time}?",
    "Running out of {item}, should I get more?",
    "Good luck with your {event} today, you'll be great",
    "Just landed, see you at home in {minutes} minutes",
    "{name} is coming over {day}, do we need anything?",
};
static const char *const ham_en_hard[] = {
    "Are you free {day}? Thinking of a movie",
    "I won the {game} match today, so happy!",
    "Got tickets for the {event}, {price} each, is that ok?",
    "The shop has a {pct}% sale on {product}, want anything?",
};
static const char *const spam_intl[] = {
    "¡GANA un {premio} GRATIS ahora! Envía {word} al {num}",
    "Felicidades, has ganado {amount}. Llama al {phone} para reclamar tu premio",
    "URGENTE: tu cuenta está bloqueada, verifica tus datos en {url}",
    "Félicitations ! Vous avez gagné un {prix}, cliquez sur {url} avant {deadline}",
    "Offre exclusive : {pct}% de réduction, commandez maintenant sur {url}",
};
static const char *const ham_intl[] = {
    "¿Quedamos para {comida} el {dia}?",
    "Llego {minutes} minutos tarde, hay mucho tráfico",
    "Gracias por la cena de ayer, estuvo genial",
    "On se voit {jour} pour le café ?",
    "Tu es libre {jour} soir ? On pourrait aller au cinéma",
    "¿Estás libre el {dia}? Podemos ir al cine",
    "Merci pour ton aide hier, à {jour} !",
};

/* Expands template t into out (slots picked by the generator). Returns 0, or 1 when a slot
 * is unknown or the text does not fit. */
static int expand(const char *t, char *out, size_t cap)
{
    size_t len = 0;
    while (*t) {
        if (*t != '{') {
            if (len + 1 >= cap)
                return 1;
            out[len++] = *t++;
            continue;
        }
        const char *end = strchr(t, '}');
        if (!end)
            return 1;
        const struct slot *s = NULL;
        for (size_t i = 0; i < N(slots); i++)
            if (strlen(slots[i].name) == (size_t)(end - t - 1) &&
                strncmp(slots[i].name, t + 1, (size_t)(end - t - 1)) == 0)
                s = &slots[i];
        if (!s)
            return 1;
        const char *v = s->values[next((unsigned)s->n)];
        size_t vl = strlen(v);
        if (len + vl >= cap)
            return 1;
        memcpy(out + len, v, vl);
        len += vl;
        t = end + 1;
    }
    out[len] = '\0';
    return 0;
}

struct stream {
    const char *group;
    int label;
    int count;
    const char *const *easy, *const *hard;
    size_t n_easy, n_hard;
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_data OUTDIR\n");
        return 2;
    }
    const struct stream streams[] = {
        {"en", 1, 240, spam_en, spam_en_hard, N(spam_en), N(spam_en_hard)},
        {"en", 0, 360, ham_en, ham_en_hard, N(ham_en), N(ham_en_hard)},
        {"intl", 1, 80, spam_intl, NULL, N(spam_intl), 0},
        {"intl", 0, 120, ham_intl, NULL, N(ham_intl), 0},
    };
    char path[4096], tmp[2][4200];
    FILE *f[2] = {NULL, NULL};
    const char *names[2] = {"train.tsv", "test.tsv"};
    int rc = 1;
    for (int k = 0; k < 2; k++) {
        snprintf(tmp[k], sizeof tmp[k], "%s/%s.tmp", argv[1], names[k]);
        if (!(f[k] = fopen(tmp[k], "w"))) {
            fprintf(stderr, "gen_data: %s: %s\n", tmp[k], strerror(errno));
            goto out;
        }
    }
    for (size_t s = 0; s < N(streams); s++) {
        const struct stream *st = &streams[s];
        for (int i = 0; i < st->count; i++) {
            char text[512];
            int hard = st->n_hard && next(12) == 0;
            const char *t =
                hard ? st->hard[next((unsigned)st->n_hard)] : st->easy[next((unsigned)st->n_easy)];
            if (expand(t, text, sizeof text)) {
                fprintf(stderr, "gen_data: template '%s' does not expand\n", t);
                goto out;
            }
            fprintf(f[i % 4 == 3], "%d\t%s\t%s\n", st->label, st->group, text);
        }
    }
    rc = 0;
out:
    for (int k = 0; k < 2; k++) {
        if (f[k] && (fclose(f[k]) != 0))
            rc = 1;
        snprintf(path, sizeof path, "%s/%s", argv[1], names[k]);
        if (!rc && rename(tmp[k], path) != 0) {
            fprintf(stderr, "gen_data: %s: %s\n", path, strerror(errno));
            rc = 1;
        }
    }
    return rc;
}
