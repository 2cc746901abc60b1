/* SPDX-License-Identifier: MIT */
/* test_spool.c: the spool index: order, bound, send window, acks, Welcome, names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spool.h"

/* Adds seqs first..last, each of `size` bytes. */
static void fill(ag_spool_t *sp, uint64_t first, uint64_t last, uint64_t size)
{
	for (uint64_t s = first; s <= last; s++)
		assert_int_equal(ag_spool_add(sp, s, size), 0);
}

static void test_ag_spool_add_sorted_any_order(void **state)
{
	ag_spool_t sp;
	ag_spool_ent_t e;
	static const uint64_t order[] = {7, 3, 9, 1, 5};

	(void)state;
	ag_spool_init(&sp, 0, 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(ag_spool_add(&sp, order[i], order[i] * 10), 0);
	assert_int_equal(ag_spool_add(&sp, 5, 1), -EEXIST);
	assert_int_equal(ag_spool_add(&sp, 0, 1), -EINVAL);
	assert_int_equal(sp.n, 5);
	assert_int_equal(sp.bytes, 250);
	assert_int_equal(ag_spool_last(&sp), 9);
	for (uint64_t want = 1; want <= 9; want += 2) {
		assert_int_equal(ag_spool_next(&sp, &e), 1);
		assert_int_equal(e.seq, want);
		assert_int_equal(e.size, want * 10);
	}
	assert_int_equal(ag_spool_next(&sp, &e), 0);
	ag_spool_close(&sp);
	ag_spool_close(NULL);
}

static void test_ag_spool_add_grows(void **state)
{
	ag_spool_t sp;

	(void)state;
	ag_spool_init(&sp, 0, 0);
	fill(&sp, 1, 1000, 1);
	assert_int_equal(sp.n, 1000);
	assert_int_equal(ag_spool_last(&sp), 1000);
	ag_spool_close(&sp);
}

static void test_ag_spool_pop_excess_oldest_first(void **state)
{
	ag_spool_t sp;
	ag_spool_ent_t e;

	(void)state;
	ag_spool_init(&sp, 100, 0);
	fill(&sp, 1, 4, 30);           /* 120 bytes: one too many */
	assert_int_equal(ag_spool_pop_excess(&sp, &e), 1);
	assert_int_equal(e.seq, 1);
	assert_int_equal(e.size, 30);
	assert_int_equal(ag_spool_pop_excess(&sp, &e), 0);
	assert_int_equal(sp.bytes, 90);
	fill(&sp, 5, 5, 10);           /* exactly 100: within the bound */
	assert_int_equal(ag_spool_pop_excess(&sp, &e), 0);
	ag_spool_close(&sp);
}

static void test_ag_spool_pop_excess_keeps_newest(void **state)
{
	ag_spool_t sp;
	ag_spool_ent_t e;
	int dropped = 0;

	(void)state;
	ag_spool_init(&sp, 10, 0);
	fill(&sp, 1, 3, 50);           /* each report alone is above the bound */
	while (ag_spool_pop_excess(&sp, &e))
		dropped++;
	assert_int_equal(dropped, 2);
	assert_int_equal(sp.n, 1);
	assert_int_equal(sp.ents[0].seq, 3);
	ag_spool_close(&sp);
}

static void test_ag_spool_next_window(void **state)
{
	ag_spool_t sp;
	ag_spool_ent_t e;

	(void)state;
	ag_spool_init(&sp, 0, 3);
	fill(&sp, 1, 5, 1);
	for (uint64_t s = 1; s <= 3; s++) {
		assert_int_equal(ag_spool_next(&sp, &e), 1);
		assert_int_equal(e.seq, s);
	}
	assert_int_equal(ag_spool_in_flight(&sp), 3);
	assert_int_equal(ag_spool_next(&sp, &e), 0);   /* window full */
	assert_int_equal(ag_spool_pop_acked(&sp, 1, &e), 1);
	assert_int_equal(e.seq, 1);
	assert_int_equal(ag_spool_pop_acked(&sp, 1, &e), 0);
	assert_int_equal(ag_spool_in_flight(&sp), 2);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_int_equal(e.seq, 4);
	assert_int_equal(ag_spool_next(&sp, &e), 0);
	ag_spool_close(&sp);
}

static void test_ag_spool_next_default_window_64(void **state)
{
	ag_spool_t sp;
	ag_spool_ent_t e;
	int sent = 0;

	(void)state;
	ag_spool_init(&sp, 0, 0);
	fill(&sp, 1, 100, 1);
	while (ag_spool_next(&sp, &e))
		sent++;
	assert_int_equal(sent, 64);
	ag_spool_close(&sp);
}

static void test_ag_spool_pop_acked_cumulative(void **state)
{
	ag_spool_t sp;
	ag_spool_ent_t e;
	int n = 0;

	(void)state;
	ag_spool_init(&sp, 0, 0);
	fill(&sp, 1, 6, 1);
	for (int i = 0; i < 6; i++)
		assert_int_equal(ag_spool_next(&sp, &e), 1);
	while (ag_spool_pop_acked(&sp, 4, &e))
		assert_int_equal(e.seq, (uint64_t)++n);
	assert_int_equal(n, 4);
	assert_int_equal(ag_spool_in_flight(&sp), 2);
	/* An ack above everything empties the spool; nothing is left to send. */
	while (ag_spool_pop_acked(&sp, 100, &e))
		n++;
	assert_int_equal(n, 6);
	assert_int_equal(sp.n, 0);
	assert_int_equal(sp.bytes, 0);
	assert_int_equal(ag_spool_next(&sp, &e), 0);
	/* New reports after that are sent. */
	fill(&sp, 7, 7, 1);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_int_equal(e.seq, 7);
	ag_spool_close(&sp);
}

static void test_ag_spool_rewind_resends_from_oldest(void **state)
{
	ag_spool_t sp;
	ag_spool_ent_t e;

	(void)state;
	ag_spool_init(&sp, 0, 0);
	fill(&sp, 10, 14, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ag_spool_next(&sp, &e), 1);
	ag_spool_rewind(&sp);              /* connection lost */
	assert_int_equal(ag_spool_in_flight(&sp), 0);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_int_equal(e.seq, 10);
	ag_spool_close(&sp);
}

static void test_ag_spool_pop_acked_welcome(void **state)
{
	ag_spool_t sp;
	ag_spool_ent_t e;
	int n = 0;

	(void)state;
	ag_spool_init(&sp, 0, 0);
	fill(&sp, 10, 14, 1);
	ag_spool_rewind(&sp);
	/* Welcome{last_seq=12}: 10..12 are stored; the next send is 13. */
	while (ag_spool_pop_acked(&sp, 12, &e))
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(ag_spool_in_flight(&sp), 0);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_int_equal(e.seq, 13);
	/* Welcome{last_seq=0} (a new agent) pops nothing. */
	ag_spool_rewind(&sp);
	assert_int_equal(ag_spool_pop_acked(&sp, 0, &e), 0);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_int_equal(e.seq, 13);
	ag_spool_close(&sp);
}

static void test_ag_spool_excess_drops_in_flight(void **state)
{
	ag_spool_t sp;
	ag_spool_ent_t e;

	(void)state;
	ag_spool_init(&sp, 3, 0);
	fill(&sp, 1, 3, 1);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_int_equal(ag_spool_next(&sp, &e), 1);     /* 1, 2 in flight */
	fill(&sp, 4, 4, 1);
	assert_int_equal(ag_spool_pop_excess(&sp, &e), 1);
	assert_int_equal(e.seq, 1);
	assert_int_equal(ag_spool_in_flight(&sp), 1);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_int_equal(e.seq, 3);
	ag_spool_close(&sp);
}

static void test_ag_spool_remove(void **state)
{
	ag_spool_t sp;
	ag_spool_ent_t e;

	(void)state;
	ag_spool_init(&sp, 0, 0);
	fill(&sp, 1, 3, 5);
	assert_int_equal(ag_spool_remove(&sp, 2), 1);
	assert_int_equal(ag_spool_remove(&sp, 2), 0);
	assert_int_equal(sp.bytes, 10);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_int_equal(e.seq, 1);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_int_equal(e.seq, 3);
	ag_spool_close(&sp);
}

/* Frames held in memory go with their entries: sent from there, handed over when popped, freed by
 * the index otherwise (the ASan run fails on a leak or a double free). */
static void test_ag_spool_mem_entries(void **state)
{
	ag_spool_t sp;
	ag_spool_ent_t e;
	uint8_t *f;

	(void)state;
	ag_spool_init(&sp, 100, 0);
	fill(&sp, 1, 2, 10);
	for (uint64_t s = 3; s <= 6; s++) {
		assert_non_null(f = malloc(20));
		memset(f, (int)s, 20);
		assert_int_equal(ag_spool_add_mem(&sp, s, f, 20), 0);
	}
	assert_int_equal(ag_spool_add_mem(&sp, 7, NULL, 20), -EINVAL);
	assert_int_equal(ag_spool_in_memory(&sp), 4);
	assert_int_equal(sp.bytes, 100);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_null(e.mem);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_int_equal(ag_spool_next(&sp, &e), 1);
	assert_int_equal(e.seq, 3);
	assert_non_null(e.mem);
	assert_int_equal(e.mem[19], 3);
	/* The bound counts them: one more in memory pushes the oldest (on disk) out. */
	assert_non_null(f = malloc(10));
	assert_int_equal(ag_spool_add_mem(&sp, 7, f, 10), 0);
	assert_int_equal(ag_spool_pop_excess(&sp, &e), 1);
	assert_int_equal(e.seq, 1);
	assert_null(e.mem);
	assert_int_equal(ag_spool_pop_excess(&sp, &e), 0);
	/* An ack hands the frames over; a removed one is freed here; the rest go with close. */
	assert_int_equal(ag_spool_pop_acked(&sp, 3, &e), 1);
	assert_null(e.mem);
	assert_int_equal(ag_spool_pop_acked(&sp, 3, &e), 1);
	assert_int_equal(e.seq, 3);
	free(e.mem);
	assert_int_equal(ag_spool_remove(&sp, 4), 1);
	assert_int_equal(ag_spool_in_memory(&sp), 3);
	ag_spool_close(&sp);
}

static void test_ag_spool_name_roundtrip(void **state)
{
	char buf[AG_SPOOL_NAME_LEN];
	uint64_t seq = 0;

	(void)state;
	ag_spool_name(42, 0, buf);
	assert_string_equal(buf, "00000000000000000042");
	assert_int_equal(ag_spool_parse_name(buf, &seq), AG_SPOOL_FILE);
	assert_int_equal(seq, 42);
	ag_spool_name(UINT64_MAX, 1, buf);
	assert_string_equal(buf, "18446744073709551615.tmp");
	assert_int_equal(ag_spool_parse_name(buf, &seq), AG_SPOOL_TEMP);
	assert_int_equal(ag_spool_parse_name("18446744073709551615", &seq), AG_SPOOL_FILE);
	assert_true(seq == UINT64_MAX);
}

static void test_ag_spool_parse_name_other(void **state)
{
	uint64_t seq = 7;

	(void)state;
	assert_int_equal(ag_spool_parse_name(".", &seq), AG_SPOOL_DOT);
	assert_int_equal(ag_spool_parse_name("..", &seq), AG_SPOOL_DOT);
	assert_int_equal(ag_spool_parse_name("42", &seq), AG_SPOOL_OTHER);
	assert_int_equal(ag_spool_parse_name("README", &seq), AG_SPOOL_OTHER);
	assert_int_equal(ag_spool_parse_name("00000000000000000000", &seq), AG_SPOOL_OTHER);
	assert_int_equal(ag_spool_parse_name("99999999999999999999", &seq), AG_SPOOL_OTHER);
	assert_int_equal(ag_spool_parse_name("00000000000000000042.bak", &seq), AG_SPOOL_OTHER);
	assert_int_equal(ag_spool_parse_name("000000000000000000042", &seq), AG_SPOOL_OTHER);
	assert_int_equal(ag_spool_parse_name("", &seq), AG_SPOOL_OTHER);
	assert_int_equal(seq, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ag_spool_add_sorted_any_order),
		cmocka_unit_test(test_ag_spool_add_grows),
		cmocka_unit_test(test_ag_spool_pop_excess_oldest_first),
		cmocka_unit_test(test_ag_spool_pop_excess_keeps_newest),
		cmocka_unit_test(test_ag_spool_next_window),
		cmocka_unit_test(test_ag_spool_next_default_window_64),
		cmocka_unit_test(test_ag_spool_pop_acked_cumulative),
		cmocka_unit_test(test_ag_spool_rewind_resends_from_oldest),
		cmocka_unit_test(test_ag_spool_pop_acked_welcome),
		cmocka_unit_test(test_ag_spool_excess_drops_in_flight),
		cmocka_unit_test(test_ag_spool_remove),
		cmocka_unit_test(test_ag_spool_mem_entries),
		cmocka_unit_test(test_ag_spool_name_roundtrip),
		cmocka_unit_test(test_ag_spool_parse_name_other),
	};

	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
