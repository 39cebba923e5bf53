// SPDX-License-Identifier: GPL-2.0
/*
 * rspro_decode_test - remsim-rspro-decode as operators use it: capture hex
 * in, one JSON line per PDU out, a message naming the line and exit 1 for
 * bad input.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap.h"

static char tool[PATH_MAX + 32];

/* Runs the tool on @input; stdout to @out, stderr to @err; exit status. */
static int run_tool(const char *input, char *out, size_t out_size, char *err,
		    size_t err_size)
{
	char in_path[] = "/tmp/rspro-decode-in-XXXXXX";
	char out_path[] = "/tmp/rspro-decode-out-XXXXXX";
	char err_path[] = "/tmp/rspro-decode-err-XXXXXX";
	char cmd[4 * PATH_MAX];
	int fi = mkstemp(in_path), fo = mkstemp(out_path), fe = mkstemp(err_path);
	int status;
	ssize_t n;

	ASSERT_GE(fi, 0);
	ASSERT_EQ((ssize_t)strlen(input), write(fi, input, strlen(input)));
	snprintf(cmd, sizeof(cmd), "%s <%s >%s 2>%s", tool, in_path, out_path,
		 err_path);
	status = system(cmd);
	n = read(fo, out, out_size - 1);
	out[n > 0 ? n : 0] = 0;
	n = read(fe, err, err_size - 1);
	err[n > 0 ? n : 0] = 0;
	close(fi);
	close(fo);
	close(fe);
	unlink(in_path);
	unlink(out_path);
	unlink(err_path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void find_tool(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	ASSERT_GT(n, 0);
	self[n] = 0;
	/* build/tests/unit/X -> build/bin/remsim-rspro-decode */
	*strrchr(self, '/') = 0;
	*strrchr(self, '/') = 0;
	*strrchr(self, '/') = 0;
	snprintf(tool, sizeof(tool), "%s/bin/remsim-rspro-decode", self);
	if (access(tool, X_OK))
		SKIP("%s is not built", tool);
}

TEST(capture_lines_become_json)
{
	static char out[8192], err[1024];
	const char *input =
		"# a capture: bare PDUs, IPA frames, CCM, spaces and colons\n"
		"\n"
		"3012800102810100a20aa8083006020117020100\n"
		"00 10 ee 07 30 0d 80 01 02 81 01 00 a2 05 a5 03 0a 01 00\n"
		"00:01:fe:00:00:01:fe:01\n"
		"301e800102810100a216b1143006020101020105300a8004c0a8010a0202270f\n"
		"3029800102810100a221b01f0a01020a01020a0101a006020101020105a10602011702010082046f6f7073\n"
		"3022800102810100a21aaf18300602010102010530060201170201003006800100830100\n";
	const char *want =
		"{\"version\":2,\"tag\":0,\"msg\":\"configClientIdReq\",\"clientSlot\":{\"clientId\":23,\"slotNr\":0}}\n"
		"{\"version\":2,\"tag\":0,\"msg\":\"createMappingRes\",\"result\":\"ok\"}\n"
		"{\"ccm\":\"PING\"}\n"
		"{\"ccm\":\"PONG\"}\n"
		"{\"version\":2,\"tag\":0,\"msg\":\"configClientBankReq\",\"bankSlot\":{\"bankId\":1,\"slotNr\":5},\"bankd\":\"192.168.1.10:9999\"}\n"
		"{\"version\":2,\"tag\":0,\"msg\":\"errorInd\",\"sender\":\"remsimBankd\",\"severity\":2,\"code\":1,"
		"\"bankSlot\":{\"bankId\":1,\"slotNr\":5},\"clientSlot\":{\"clientId\":23,\"slotNr\":0},\"errorString\":\"oops\"}\n"
		"{\"version\":2,\"tag\":0,\"msg\":\"bankSlotStatusInd\",\"fromBankSlot\":{\"bankId\":1,\"slotNr\":5},"
		"\"toClientSlot\":{\"clientId\":23,\"slotNr\":0},\"slotPhysStatus\":{\"resetActive\":false,\"cardPresent\":false}}\n";

	find_tool();
	EXPECT_EQ(0, run_tool(input, out, sizeof(out), err, sizeof(err)));
	if (strcmp(out, want))
		TH_LOG("got:\n%s", out);
	EXPECT_EQ(0, strcmp(out, want));
	EXPECT_EQ(0, strcmp(err, ""));
}

TEST(bad_lines_are_named_and_fail)
{
	static char out[8192], err[2048];
	const char *input =
		"300d800102810100a205a5030a0100\n"	/* 1: fine */
		"300d800102810100a205a5030a01\n"	/* 2: truncated */
		"hello\n"				/* 3 */
		"300\n"					/* 4: odd */
		"300d800102810100a205a5030a0100ff\n"	/* 5: garbage */
		"0002ee0500\n"				/* 6: not RSPRO */
		"300a800102810100a202b500\n"		/* 7: unknown choice */
		"300d800102810100a205a5030a0100\n";	/* 8: fine */

	find_tool();
	EXPECT_EQ(1, run_tool(input, out, sizeof(out), err, sizeof(err)));
	EXPECT_TRUE(strstr(err, "line 2: truncated") != NULL);
	EXPECT_TRUE(strstr(err, "line 3: not a hex digit") != NULL);
	EXPECT_TRUE(strstr(err, "line 4: odd number") != NULL);
	EXPECT_TRUE(strstr(err, "line 5: 1 bytes of garbage") != NULL);
	EXPECT_TRUE(strstr(err, "line 6: IPA extension 0x05") != NULL);
	EXPECT_TRUE(strstr(err, "line 7: unknown message") != NULL);
	/* the good lines still print */
	EXPECT_EQ(0, strcmp(out,
		"{\"version\":2,\"tag\":0,\"msg\":\"createMappingRes\",\"result\":\"ok\"}\n"
		"{\"version\":2,\"tag\":0,\"msg\":\"createMappingRes\",\"result\":\"ok\"}\n"));
}

KTAP_MAIN
