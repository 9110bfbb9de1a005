// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_config.c - the configuration file parser, with config.h's promise as
 * the oracle (roundtrip.h): what parses is valid, and config__print() of it
 * parses back to an equal configuration that prints the same text.
 */
#include "roundtrip.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config a;
	char err[512];

	err[0] = '\0';
	if (parse((const char *)data, size, &a, err, sizeof(err))) {
		/* A refusal says where: "NAME:LINE: message". */
		FUZZ_CHECK(!strncmp(err, "fuzz:", 5));
	} else {
		check_roundtrip(&a);
	}
	config__free(&a);
	return 0;
}
