/* Shared CUnit runner: every unit test binary ends with one "N passed, N failed" line
 * (tests counted) and a non-zero exit on any failure, so scripts can sum the lines. */
#ifndef JPKI_CUNIT_MAIN_H
#define JPKI_CUNIT_MAIN_H
#include <CUnit/Basic.h>
#include <stdio.h>

/* Runs the registry in basic mode, prints the line, cleans up. Returns the exit status.
 * A test that never ran (suite setup failed, registry error) counts as failed. */
static inline int jpki_cunit_run(void)
{
	unsigned total, passed, failed;

	if (CU_get_registry() == NULL) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	total = CU_get_registry()->uiNumberOfTests;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	passed = CU_get_number_of_tests_run() - CU_get_number_of_tests_failed();
	failed = total > passed ? total - passed : 0;
	if (CU_get_number_of_suites_failed() > 0 && failed == 0)
		failed = 1;
	CU_cleanup_registry();
	printf("%u passed, %u failed\n", passed, failed);
	fflush(stdout);
	return failed == 0 ? 0 : 1;
}

#endif
