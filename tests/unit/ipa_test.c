// SPDX-License-Identifier: GPL-2.0
/*
 * ipa_test - IPA stream reassembly: frames come out whole however TCP cuts
 * the stream, and a frame over the limit or of length 0 is refused.
 */
#include <errno.h>
#include <string.h>

#include "ktap.h"
#include "remsim/ipa.h"

/* createMappingRes(ok) in its IPA frame, from the reference */
static const uint8_t frame_cmr[] = {
	0x00, 0x10, 0xee, 0x07, 0x30, 0x0d, 0x80, 0x01, 0x02, 0x81, 0x01, 0x00,
	0xa2, 0x05, 0xa5, 0x03, 0x0a, 0x01, 0x00,
};

TEST(header_bytes)
{
	uint8_t hdr[4], ccm[4];

	ipa_rspro_header(hdr, 15);
	ASSERT_MEMEQ(frame_cmr, hdr, 4);
	ipa_ccm_frame(ccm, IPA_CCM_PONG);
	ASSERT_MEMEQ("\x00\x01\xfe\x01", ccm, 4);
}

/* Feeds @stream in pieces of @step bytes; counts the frames. */
static int feed_in_steps(const uint8_t *stream, size_t len, size_t step)
{
	struct ipa_rx rx;
	struct ipa_frame f;
	size_t off = 0;
	int frames = 0, ret;

	ASSERT_EQ(0, ipa_rx_init(&rx, 64));
	while (off < len) {
		size_t n = len - off < step ? len - off : step;

		off += ipa_rx_feed(&rx, stream + off, n);
		while ((ret = ipa_rx_next(&rx, &f)) == 1) {
			EXPECT_EQ(IPA_PROTO_OSMO, f.proto);
			EXPECT_EQ(sizeof(frame_cmr) - 3, f.len);
			EXPECT_MEMEQ(frame_cmr + 3, f.data, f.len);
			frames++;
		}
		EXPECT_EQ(0, ret);
	}
	EXPECT_EQ(0u, ipa_rx_pending(&rx));
	ipa_rx_free(&rx);
	return frames;
}

TEST(any_segmentation)
{
	uint8_t stream[sizeof(frame_cmr) * 5];
	size_t i;

	for (i = 0; i < 5; i++)
		memcpy(stream + i * sizeof(frame_cmr), frame_cmr, sizeof(frame_cmr));
	/* byte by byte (slow loris), odd cuts, and all at once */
	for (i = 1; i <= sizeof(stream); i++)
		ASSERT_EQ(5, feed_in_steps(stream, sizeof(stream), i));
}

TEST(ccm_between_frames)
{
	static const uint8_t stream[] = { 0x00, 0x01, 0xfe, 0x00, 0x00, 0x02, 0xee, 0x07, 0xaa };
	struct ipa_rx rx;
	struct ipa_frame f;

	ASSERT_EQ(0, ipa_rx_init(&rx, 16));
	ASSERT_EQ(sizeof(stream), ipa_rx_feed(&rx, stream, sizeof(stream)));
	ASSERT_EQ(1, ipa_rx_next(&rx, &f));
	EXPECT_EQ(IPA_PROTO_CCM, f.proto);
	EXPECT_EQ(1u, f.len);
	EXPECT_EQ(IPA_CCM_PING, f.data[0]);
	ASSERT_EQ(1, ipa_rx_next(&rx, &f));
	EXPECT_EQ(IPA_PROTO_OSMO, f.proto);
	EXPECT_EQ(2u, f.len);
	EXPECT_EQ(0, ipa_rx_next(&rx, &f));
	ipa_rx_free(&rx);
}

TEST(limits)
{
	static const uint8_t big[] = { 0x00, 0x11, 0xee };
	static const uint8_t exact[] = { 0x00, 0x10, 0xee };
	static const uint8_t zero[] = { 0x00, 0x00, 0xee };
	static const uint8_t huge[] = { 0xff, 0xff, 0xee };
	uint8_t body[16] = { 0x07 };
	struct ipa_rx rx;
	struct ipa_frame f;

	EXPECT_EQ(-EINVAL, ipa_rx_init(&rx, 0));
	EXPECT_EQ(-EINVAL, ipa_rx_init(&rx, IPA_PAYLOAD_LIMIT + 1));

	/* one over the limit is refused from its header alone */
	ASSERT_EQ(0, ipa_rx_init(&rx, 16));
	ipa_rx_feed(&rx, big, sizeof(big));
	EXPECT_EQ(-EMSGSIZE, ipa_rx_next(&rx, &f));
	ipa_rx_free(&rx);

	/* exactly the limit fits the buffer */
	ASSERT_EQ(0, ipa_rx_init(&rx, 16));
	ipa_rx_feed(&rx, exact, sizeof(exact));
	EXPECT_EQ(0, ipa_rx_next(&rx, &f));
	EXPECT_EQ(sizeof(body), ipa_rx_feed(&rx, body, sizeof(body)));
	EXPECT_EQ(1, ipa_rx_next(&rx, &f));
	EXPECT_EQ(16u, f.len);
	ipa_rx_free(&rx);

	ASSERT_EQ(0, ipa_rx_init(&rx, 16));
	ipa_rx_feed(&rx, zero, sizeof(zero));
	EXPECT_EQ(-EPROTO, ipa_rx_next(&rx, &f));
	ipa_rx_free(&rx);

	ASSERT_EQ(0, ipa_rx_init(&rx, IPA_PAYLOAD_LIMIT));
	ipa_rx_feed(&rx, huge, sizeof(huge));
	EXPECT_EQ(0, ipa_rx_next(&rx, &f));
	EXPECT_EQ(3u, ipa_rx_pending(&rx));
	ipa_rx_free(&rx);
}

TEST(buffer_never_overflows)
{
	uint8_t junk[100];
	struct ipa_rx rx;
	size_t room;

	memset(junk, 0, sizeof(junk));
	junk[1] = 8;
	ASSERT_EQ(0, ipa_rx_init(&rx, 8));
	/* 11 bytes hold a whole frame; feeding takes no more than that */
	EXPECT_EQ(11u, ipa_rx_feed(&rx, junk, sizeof(junk)));
	ipa_rx_space(&rx, &room);
	EXPECT_EQ(0u, room);
	ipa_rx_free(&rx);
}

KTAP_MAIN
