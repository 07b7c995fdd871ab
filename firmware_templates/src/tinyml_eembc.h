/* The MLPerf Tiny / EEMBC DUT text protocol, beside the binary frames on the same link.
 *
 * Commands end with '%'; every reply ends with an "m-ready" line. With it a tinyml app
 * firmware is a device under test for the MLPerf Tiny runner: name, profile, timestamp,
 * db load N, db HEX, db print, infer N W, results (see firmware_templates/README.md). */
#ifndef TINYML_EEMBC_H
#define TINYML_EEMBC_H

#include <stdint.h>

#define EEMBC_CMD_SIZE 80u

/* Runs one command (without its '%') and returns 1 when it answered. Text it does not know is
 * answered as MLPerf's reference firmware does, "e-[Unknown command: WORD]" then "m-ready",
 * when answer_unknown is set; otherwise (it may be the bytes of a binary frame that happened
 * to hold a '%') it is ignored and 0 returned. An empty command is always ignored. */
int eembc_command(const char *command, int answer_unknown);

#endif
