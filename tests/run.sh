#!/bin/sh
# Runs one compiled test; under valgrind memcheck when PMEM_TEST_VALGRIND=1
# (any error or definite leak fails the test).
if [ "${PMEM_TEST_VALGRIND:-0}" = 1 ] && [ -n "$VALGRIND" ]; then
	exec $LIBTOOL --mode=execute "$VALGRIND" -q --error-exitcode=99 \
		--leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --track-fds=no "$@"
fi
exec "$@"
