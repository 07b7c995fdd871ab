/* The MLPerf Tiny / EEMBC DUT text protocol, beside the binary frames on the same link.
 *
 * Commands end with '%'; every reply ends with an "m-ready" line. With it a tinyml app
 * firmware is a device under test for the MLPerf Tiny runner: name, profile, timestamp,
 * db load N, db HEX, db print, infer N W, results (see firmware_templates/README.md). */
#ifndef TINYML_EEMBC_H
#define TINYML_EEMBC_H

#include <stdint.h>

#define EEMBC_CMD_SIZE 80u

/* Runs one command (without its '%'); returns 1 when it was one of ours, 0 for anything else
 * (such as the bytes of a binary frame that happened to hold a '%'), which is ignored. */
int eembc_command(const char *command);

#endif
