/* The MLPerf Tiny / EEMBC DUT text protocol: see tinyml_eembc.h. Inputs go into the app's
 * feature buffer (the model's int8 input); results are the dequantized outputs (kws) or the
 * anomaly score (vibration), three decimals each. */
#include "tinyml_eembc.h"

#include "tinyml_config.h"

#if defined(TINYML_HAS_MODEL) /* apps with a model; the skeleton has none */
#include "model.h"
#include "tinyml_app.h"
#include "tinyml_port.h"
#include "tinyml_print.h"
#include "tinyml_timer.h"

static uint32_t expected; /* bytes announced by "db load" */
static uint32_t loaded;
static app_result_t last;
static uint8_t have_result;

/* Compares a token (ended by ' ' or '\0') with a word. */
static int is(const char *token, const char *word)
{
    while (*word != '\0' && *token == *word) {
        ++token;
        ++word;
    }
    return *word == '\0' && (*token == ' ' || *token == '\0');
}

/* The next token after this one, or 0. */
static const char *next_token(const char *p)
{
    while (*p != '\0' && *p != ' ') {
        ++p;
    }
    while (*p == ' ') {
        ++p;
    }
    return *p != '\0' ? p : 0;
}

/* A non-negative decimal number; -1 when the token is not one. */
static int32_t number(const char *p)
{
    int32_t value = 0;
    if (p == 0 || *p < '0' || *p > '9') {
        return -1;
    }
    while (*p >= '0' && *p <= '9' && value < 100000000) {
        value = value * 10 + (*p++ - '0');
    }
    return (*p == ' ' || *p == '\0') ? value : -1;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static void line(const char *a, const char *b)
{
    print_str(a);
    if (b != 0) {
        print_str(b);
    }
    print_end();
}

static void lap(void)
{
    /* Microseconds of the board's timer (virtual time under QEMU's -icount shift=0). */
    const uint64_t ps = (uint64_t)timer_ticks() * (uint64_t)TINYML_TIMER_PS_PER_TICK;
    print_str("m-lap-us-");
    print_u32((uint32_t)(ps / 1000000u));
    print_end();
}

static void results(void)
{
    print_str("m-results-[");
    if (have_result) {
#if defined(EEMBC_RESULT_IS_SCORE)
        print_milli((int32_t)(last.score * 1000.0f + 0.5f));
#else
        uint16_t i;
        for (i = 0; i < last.output_bytes; ++i) {
            const float p = MODEL_OUTPUT_SCALE * (float)(last.output[i] - MODEL_OUTPUT_ZERO_POINT);
            if (i != 0u) {
                print_str(",");
            }
            print_milli((int32_t)(p * 1000.0f + 0.5f));
        }
#endif
    }
    print_str("]");
    print_end();
}

static void db(const char *args)
{
    uint32_t capacity = 0, i;
    uint8_t *buffer = app_input(TM_INPUT_FEATURES, &capacity);
    if (args == 0) {
        line("e-[Command 'db' requires a subcommand]", 0);
    } else if (is(args, "load")) {
        const int32_t n = number(next_token(args));
        if (n <= 0) {
            line("e-[Command 'db load' requires the # of bytes, > 0]", 0);
        } else if ((uint32_t)n > capacity) {
            print_str("e-[Supplied buffer size ");
            print_u32((uint32_t)n);
            print_str(" exceeds maximum of ");
            print_u32(capacity);
            line("]", 0);
        } else {
            expected = (uint32_t)n;
            loaded = 0u;
            print_str("m-[Expecting ");
            print_u32(expected);
            line(" bytes]", 0);
        }
    } else if (is(args, "print")) {
        for (i = 0; i < loaded; ++i) {
            print_str(i % 8u == 0u ? "m-buffer-" : "-");
            print_hex((const int8_t *)&buffer[i], 1u);
            if (i % 8u == 7u || i + 1u == loaded) {
                print_end();
            }
        }
    } else {
        const char *p = args;
        while (*p != '\0' && *p != ' ' && loaded < expected) {
            const int high = hex_digit(p[0]);
            const int low = p[1] != '\0' ? hex_digit(p[1]) : -1;
            if (high < 0 || low < 0) {
                line("e-[Invalid hex digits: send pairs of 0-9a-f]", 0);
                return;
            }
            buffer[loaded++] = (uint8_t)(high * 16 + low);
            p += 2;
        }
        if (loaded == expected && expected != 0u) {
            line("m-load-done", 0);
        }
    }
}

static void infer(const char *args)
{
    const char *second = args != 0 ? next_token(args) : 0;
    const int32_t n = args != 0 ? number(args) : 1;
    const int32_t warmups = second != 0 ? number(second) : 10;
    int32_t k;
    if (n <= 0) {
        line("e-[Inference iterations must be >0]", 0);
        return;
    }
    if (warmups < 0) {
        line("e-[Inference warmup must be >=0]", 0);
        return;
    }
    print_str("m-warmup-start-");
    print_u32((uint32_t)warmups);
    print_end();
    for (k = 0; k < warmups; ++k) {
        app_infer(TM_INPUT_FEATURES, &last);
    }
    line("m-warmup-done", 0);
    print_str("m-infer-start-");
    print_u32((uint32_t)n);
    print_end();
    lap();
    for (k = 0; k < n; ++k) {
        app_infer(TM_INPUT_FEATURES, &last);
    }
    lap();
    have_result = 1u;
    line("m-infer-done", 0);
    results();
}

/* "e-[Unknown command: WORD]" with the command's first word, as the reference firmware prints
 * the first token of strtok(command, " "). */
static void unknown(const char *command)
{
    size_t n = 0;
    while (command[n] != '\0' && command[n] != ' ') {
        ++n;
    }
    print_str("e-[Unknown command: ");
    port_write((const uint8_t *)command, n);
    line("]", 0);
}

int eembc_command(const char *command, int answer_unknown)
{
    const char *args;
    while (*command == ' ') {
        ++command; /* strtok in the reference skips them too */
    }
    args = next_token(command);
    if (is(command, "name")) {
        line("m-name-dut-[tinyml " TINYML_BOARD_ID "]", 0);
    } else if (is(command, "profile")) {
        line("m-profile-[tinyml " TINYML_FIRMWARE_VERSION " " TINYML_APP "]", 0);
        line("m-model-[" EEMBC_MODEL "]", 0);
    } else if (is(command, "timestamp")) {
        lap();
    } else if (is(command, "db")) {
        db(args);
    } else if (is(command, "infer")) {
        infer(args);
    } else if (is(command, "results")) {
        results();
    } else if (is(command, "help")) {
        line("tinyml DUT: name, profile, timestamp, db load N, db HEX, db print, infer N W, results", 0);
    } else if (answer_unknown && *command != '\0') {
        unknown(command);
    } else {
        return 0;
    }
    line("m-ready", 0);
    return 1;
}
#endif
