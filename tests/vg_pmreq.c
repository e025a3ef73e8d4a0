/*
 * vg_pmreq.c -- a valgrind tool for tests/pmemcheck.sh: it prints every
 * pmemcheck client request ('P','C') the program makes, with its
 * arguments, and does nothing else (no instrumentation).  pmemcheck
 * itself is not packaged by Debian; this tool receives the same requests
 * the same way (valgrind's core hands each to the tool), so what it
 * prints is what pmemcheck would have been told.  Built by pmemcheck.sh
 * against valgrind's static core libraries.
 */
#include "pub_tool_basics.h"
#include "pub_tool_tooliface.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_clreq.h"

/* Prints one pmemcheck request: "pmreq N A1 A2 A3 A4", N from the base. */
static Bool
pmreq_request(ThreadId tid, UWord *arg, UWord *ret)
{
	(void)tid;
	if (!VG_IS_TOOL_USERREQ('P', 'C', arg[0]))
		return False;
	VG_(umsg)("pmreq %lu %lx %lx %lx %lx\n",
		arg[0] - VG_USERREQ_TOOL_BASE('P', 'C'), arg[1], arg[2],
		arg[3], arg[4]);
	*ret = 0;
	return True;
}

/* Nothing to do after the command line. */
static void
pmreq_post_clo_init(void)
{
}

/* Leaves the code as it is. */
static IRSB *
pmreq_instrument(VgCallbackClosure *closure, IRSB *bb,
	const VexGuestLayout *layout, const VexGuestExtents *extents,
	const VexArchInfo *arch, IRType gword, IRType hword)
{
	(void)closure;
	(void)layout;
	(void)extents;
	(void)arch;
	(void)gword;
	(void)hword;
	return bb;
}

/* Nothing to report at exit. */
static void
pmreq_fini(Int exitcode)
{
	(void)exitcode;
}

/* Registers the tool with valgrind's core. */
static void
pmreq_pre_clo_init(void)
{
	VG_(details_name)("pmreq");
	VG_(details_version)(NULL);
	VG_(details_description)("prints pmemcheck client requests");
	VG_(details_copyright_author)("pmem-stack tests");
	VG_(details_bug_reports_to)("pmem-stack");
	VG_(basic_tool_funcs)(pmreq_post_clo_init, pmreq_instrument,
		pmreq_fini);
	VG_(needs_client_requests)(pmreq_request);
}

VG_DETERMINE_INTERFACE_VERSION(pmreq_pre_clo_init)
