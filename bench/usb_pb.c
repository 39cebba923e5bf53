// SPDX-License-Identifier: GPL-2.0
/*
 * usb_pb - the time from the modem sending a TPDU header that needs a
 * procedure byte (UPDATE BINARY, case 3) to that procedure byte reaching the
 * modem, through the software SIMtrace2 board on dummy_hcd: with remsim.ko
 * answering it in the kernel, against a user-space libusb program doing the
 * same job on the same gadget (what osmo-remsim-client does). Also the whole
 * APDU round trip over USB with remsim.ko.
 *
 *	usb_pb [ROUNDS]		run in the VM (make bench)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libusb-1.0/libusb.h>

#include "measure.h"
#include "board.h"
#include "modem.h"
#include "slotdev.h"
#include "st2_proto.h"
#include "t0.h"

static volatile bool stop;

#define NULL_BYTE	0x60

/*
 * The next byte that is not a NULL byte. A card may send NULL bytes before
 * any procedure byte or SW1 (ISO 7816-3); the board sends them when its host
 * is slow to answer, which under TCG happens every few hundred rounds.
 */
static int read_past_nulls(struct modem *m, uint8_t *b, unsigned int *nulls)
{
	int ret;

	while (!(ret = modem_read_bytes(m, b, 1)) && *b == NULL_BYTE)
		(*nulls)++;
	return ret;
}

/*
 * The phone: header, procedure byte (timed), one data byte, status word;
 * the whole exchange timed too.
 */
static int phone_rounds(struct modem *m, unsigned int rounds, uint64_t *pb_ns, uint64_t *rtt_ns,
			unsigned int *nulls)
{
	static const uint8_t hdr[5] = { 0xa0, 0xd6, 0x00, 0x00, 0x01 };
	uint8_t b, sw[2], atr[33];
	size_t len;
	int ret;

	ret = modem_power_on(m, atr, &len);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		ret = modem_send_bytes(m, hdr, 5);
		if (!ret)
			ret = read_past_nulls(m, &b, nulls);
		if (ret || b != hdr[1]) {
			fprintf(stderr, "usb_pb: round %u: procedure byte %02x\n", i, b);
			return ret ? ret : -EPROTO;
		}
		pb_ns[i] = now_ns() - t0;
		ret = modem_send_bytes(m, (uint8_t[]){ (uint8_t)i }, 1);
		if (!ret)
			ret = read_past_nulls(m, &sw[0], nulls);
		if (!ret)
			ret = modem_read_bytes(m, &sw[1], 1);
		if (ret)
			return ret;
		if (sw[0] != 0x90 || sw[1] != 0x00) {
			fprintf(stderr, "usb_pb: round %u: status %02x%02x\n", i, sw[0], sw[1]);
			return -EPROTO;
		}
		rtt_ns[i] = now_ns() - t0;
	}
	return 0;
}

/* --- the kernel path: remsim.ko and a slot owner --------------------------------- */

static void *owner_thread(void *arg)
{
	int fd = *(int *)arg;
	struct slot_msg msg;

	while (!stop)
		if (!slot_read(fd, &msg, 100) && msg.hdr.type == REMSIM_MSG_APDU)
			slot_respond(fd, msg.hdr.seq, (uint8_t[]){ 0x90, 0x00 }, 2);
	return NULL;
}

/* --- the user-space path: libusb ------------------------------------------------- */

struct host {
	libusb_device_handle	*h;
	uint8_t			ep_in, ep_out, ep_int;
	struct t0		t0;
};

static int host_send(struct host *u, const uint8_t *buf, size_t len)
{
	int done;

	return libusb_bulk_transfer(u->h, u->ep_out, (uint8_t *)buf, len, &done, 1000);
}

static int host_tx(struct host *u, const struct t0_tx *tx)
{
	uint8_t buf[ST2_MSG_MAX];

	return host_send(u, buf, st2_msg_tx_data(buf, tx->flags, tx->data, tx->len));
}

/* Status changes: read like osmo-remsim-client does, and dropped here. */
static void *libusb_irq_thread(void *arg)
{
	struct host *u = arg;
	uint8_t buf[64];
	int n;

	while (!stop)
		libusb_interrupt_transfer(u->h, u->ep_int, buf, sizeof(buf), &n, 100);
	return NULL;
}

/* Reads the board's bulk IN and runs the same T=0 engine, answering 9000. */
static void *libusb_thread(void *arg)
{
	struct host *u = arg;
	uint8_t buf[512];

	while (!stop) {
		struct t0_result res;
		struct st2_msg m;
		int n;

		if (libusb_bulk_transfer(u->h, u->ep_in, buf, sizeof(buf), &n, 100))
			continue;
		if (st2_parse_device_msg(buf, n, &m) < 0 || m.msg_class != ST2_CLASS_CARDEM ||
		    m.type != ST2_CEMU_RX_DATA)
			continue;
		if (st2_get32(m.payload) & ST2_DATA_F_TPDU_HDR)
			t0_header(&u->t0, m.payload + 6, &res);
		else
			t0_data(&u->t0, m.payload + 6, m.len - 6, &res);
		if (res.actions & T0_DO_TX)
			host_tx(u, &res.tx);
		if ((res.actions & T0_DO_DELIVER) &&
		    !t0_response(&u->t0, (uint8_t[]){ 0x90, 0x00 }, 2, &res) &&
		    (res.actions & T0_DO_TX))
			host_tx(u, &res.tx);
	}
	return NULL;
}

static int host_open(struct host *u, libusb_context **ctx)
{
	const struct libusb_interface_descriptor *alt;
	struct libusb_config_descriptor *cfg;
	uint8_t msg[ST2_HDR_LEN + ST2_CONFIG_LEN];
	int ret;

	ret = libusb_init(ctx);
	if (ret)
		return -EIO;
	u->h = libusb_open_device_with_vid_pid(*ctx, ST2_VENDOR, ST2_PID_SIMTRACE2);
	if (!u->h)
		return -ENODEV;
	if (libusb_get_active_config_descriptor(libusb_get_device(u->h), &cfg))
		return -EIO;
	alt = &cfg->interface[0].altsetting[0];
	for (int i = 0; i < alt->bNumEndpoints; i++) {
		const struct libusb_endpoint_descriptor *ep = &alt->endpoint[i];

		if ((ep->bmAttributes & 3) == LIBUSB_TRANSFER_TYPE_INTERRUPT)
			u->ep_int = ep->bEndpointAddress;
		if ((ep->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_BULK)
			continue;
		if (ep->bEndpointAddress & 0x80)
			u->ep_in = ep->bEndpointAddress;
		else
			u->ep_out = ep->bEndpointAddress;
	}
	libusb_free_config_descriptor(cfg);
	if (libusb_claim_interface(u->h, 0))
		return -EBUSY;
	t0_init(&u->t0);
	/* As the driver does at probe: status IRQs, the remote SIM. */
	host_send(u, msg, st2_msg_config(msg, ST2_FEAT_STATUS_IRQ, 0));
	return host_send(u, msg, st2_msg_sim_select(msg, true)) ? -EIO : 0;
}

static void report(const char *name, uint64_t *v, unsigned int n, uint64_t base_p50,
		   const char *base)
{
	uint64_t p50 = percentile(v, n, 50), p99 = percentile(v, n, 99);

	if (base_p50)
		printf("%s_p50: %.1f us (%.2fx vs %s)\n", name, p50 / 1e3,
		       (double)p50 / base_p50, base);
	else
		printf("%s_p50: %.1f us\n", name, p50 / 1e3);
	printf("%s_p99: %.1f us\n", name, p99 / 1e3);
}

int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? atoi(argv[1]) : 500;
	uint64_t *k_pb = calloc(rounds, 8), *k_rtt = calloc(rounds, 8);
	uint64_t *u_pb = calloc(rounds, 8), *u_rtt = calloc(rounds, 8);
	struct test_board b;
	struct host u = {};
	libusb_context *ctx;
	unsigned int k_nulls = 0, u_nulls = 0;
	struct modem *m;
	pthread_t th, irq_th;
	char path[128];
	int fd, ret;

	if (!rounds || !k_pb || !k_rtt || !u_pb || !u_rtt)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = board_start(&b, "simtrace2", 0);
	if (ret) {
		fprintf(stderr, "usb_pb: board: %s\n", strerror(-ret));
		return 1;
	}

	/* remsim.ko: the kernel answers the procedure byte. */
	fd = slot_open(b.index[0], O_RDWR);
	if (fd < 0 || board_modem(&b, 0, &m))
		return 1;
	pthread_create(&th, NULL, owner_thread, &fd);
	ret = phone_rounds(m, rounds, k_pb, k_rtt, &k_nulls);
	stop = true;
	pthread_join(th, NULL);
	close(fd);
	modem_close(m);
	if (ret) {
		fprintf(stderr, "usb_pb: kernel path: %s\n", strerror(-ret));
		return 1;
	}

	/* libusb: unbind remsim from the interface, do it in user space. */
	snprintf(path, sizeof(path), "echo $(basename $(readlink -f /sys/class/remsim/remsim%u/device))"
		 " > /sys/bus/usb/drivers/remsim/unbind", b.index[0]);
	if (system(path) || host_open(&u, &ctx) || board_modem(&b, 0, &m)) {
		fprintf(stderr, "usb_pb: cannot set up the libusb path\n");
		return 1;
	}
	stop = false;
	pthread_create(&th, NULL, libusb_thread, &u);
	pthread_create(&irq_th, NULL, libusb_irq_thread, &u);
	ret = phone_rounds(m, rounds, u_pb, u_rtt, &u_nulls);
	stop = true;
	pthread_join(th, NULL);
	pthread_join(irq_th, NULL);
	modem_close(m);
	libusb_release_interface(u.h, 0);
	libusb_close(u.h);
	libusb_exit(ctx);
	board_stop(&b);
	if (ret) {
		fprintf(stderr, "usb_pb: libusb path: %s\n", strerror(-ret));
		return 1;
	}

	printf("# %u TPDUs with a procedure byte over dummy_hcd; NULL bytes: %u kernel, %u libusb\n",
	       rounds, k_nulls, u_nulls);
	report("usb_pb_libusb", u_pb, rounds, 0, NULL);
	report("usb_pb_kernel", k_pb, rounds, percentile(u_pb, rounds, 50), "libusb");
	report("usb_apdu_rtt_libusb", u_rtt, rounds, 0, NULL);
	report("usb_apdu_rtt_kernel", k_rtt, rounds, percentile(u_rtt, rounds, 50), "libusb");
	return 0;
}
