// SPDX-License-Identifier: GPL-2.0
/*
 * pcsc-lite's IFD handler API (ifdhandler.h, version 3) over remsim's
 * readers: each Lun pcscd opens is one remsim client slot, named by the
 * DEVICENAME of its reader.conf.d entry. Only these functions leave the
 * library (ifd.map).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <PCSC/ifdhandler.h>
#include <PCSC/reader.h>

#include "remsim/conf.h"
#include "remsim/log.h"
#include "ifd.h"

#define EXPORT __attribute__((visibility("default")))

static struct {
	DWORD lun;
	struct ifd_reader *r;
} luns[IFD_READERS_MAX];
static pthread_mutex_t luns_lock = PTHREAD_MUTEX_INITIALIZER;

static struct ifd_reader *reader_of(DWORD lun)
{
	struct ifd_reader *r = NULL;
	unsigned int i;

	pthread_mutex_lock(&luns_lock);
	for (i = 0; i < IFD_READERS_MAX; i++)
		if (luns[i].r && luns[i].lun == lun)
			r = luns[i].r;
	pthread_mutex_unlock(&luns_lock);
	return r;
}

static int parse_num(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(v, &end, 10);
	if (errno || end == v || *end || *v == '-' || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

/* "HOST", "HOST:PORT" or "[V6]:PORT" */
static int parse_server(const char *v, struct rc_cfg *cfg)
{
	return rspro_host_port_split(v, strlen(v), cfg->server_port, cfg->server_host,
				     sizeof(cfg->server_host), &cfg->server_port);
}

/* One setting, of DEVICENAME or of its conf file (conf_load()'s setter). */
static int set_key(const char *key, const char *v, void *arg, char *why, size_t whylen)
{
	struct ifd_dev *dev = arg;
	unsigned long n;
	int ret;

	if (!strcmp(key, "server")) {
		if (!parse_server(v, &dev->cfg))
			return 0;
	} else if (!strcmp(key, "client") || !strcmp(key, "slot")) {
		if (!parse_num(v, 0, 1023, &n)) {
			if (*key == 'c') {
				dev->cfg.slot.client_id = n;
				dev->has_client = true;
			} else {
				dev->cfg.slot.slot_nr = n;
			}
			return 0;
		}
	} else if (!strcmp(key, "timeout")) {
		if (!parse_num(v, IFD_TIMEOUT_MS_MIN, IFD_TIMEOUT_MS_MAX, &n)) {
			dev->timeout_ms = n;
			return 0;
		}
	} else {
		ret = rspro_tls_cfg_set(&dev->tls, key, v, why, whylen);
		if (ret == -ENOENT)
			snprintf(why, whylen,
				 "unknown key \"%s\" (server, client, slot, timeout, tls..., conf)",
				 key);
		return ret ? -EINVAL : 0;
	}
	snprintf(why, whylen, "%s=%s is out of range or malformed", key, v);
	return -EINVAL;
}

static int parse_pair(char *tok, struct ifd_dev *dev, char *err, size_t errlen)
{
	char *v = strchr(tok, '=');

	if (!v) {
		snprintf(err, errlen, "\"%s\" is not KEY=VALUE", tok);
		return -EINVAL;
	}
	*v++ = 0;
	/* a file for what DEVICENAME (its length limited by pcscd) has no room for */
	if (!strcmp(tok, "conf"))
		return conf_load(v, set_key, dev, err, errlen) ? -EINVAL : 0;
	return set_key(tok, v, dev, err, errlen);
}

int ifd_parse_device(const char *text, struct ifd_dev *dev, char *err, size_t errlen)
{
	char buf[512], *tok, *save;
	size_t len;

	memset(dev, 0, sizeof(*dev));
	rc_cfg_default(&dev->cfg);
	rspro_tls_cfg_default(&dev->tls);
	dev->timeout_ms = IFD_TIMEOUT_MS_DEFAULT;
	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "DEVICENAME longer than %zu bytes", sizeof(buf) - 1);
		return -EINVAL;
	}
	/* pcscd hands DEVICENAME over with the quotes reader.conf.d needs for spaces */
	if (text[0] == '"') {
		text++;
		len = strlen(text);
		if (!len || text[len - 1] != '"') {
			snprintf(err, errlen, "DEVICENAME: a quote without its end");
			return -EINVAL;
		}
		len--;
	} else {
		len = strlen(text);
	}
	memcpy(buf, text, len);
	buf[len] = 0;
	for (tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save))
		if (parse_pair(tok, dev, err, errlen))
			return -EINVAL;
	if (!dev->has_client) {
		/* client 0 slot 0 by default would be one more reader on the same slot */
		snprintf(err, errlen, "no client=N in \"%.*s\"", (int)len, text);
		return -EINVAL;
	}
	snprintf(dev->cfg.label, sizeof(dev->cfg.label), "ifd");
	return 0;
}

EXPORT RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
	struct ifd_dev dev;
	struct ifd_reader *r;
	char err[300];
	unsigned int i;

	ifd_lib_init();
	if (reader_of(Lun))
		return IFD_SUCCESS;
	if (ifd_parse_device(DeviceName ? DeviceName : "", &dev, err, sizeof(err))) {
		log_line(DMAIN, LOG_ERROR, "ifd", "DEVICENAME: %s", err);
		return IFD_COMMUNICATION_ERROR;
	}
	pthread_mutex_lock(&luns_lock);
	for (i = 0; i < IFD_READERS_MAX && luns[i].r; i++)
		;
	pthread_mutex_unlock(&luns_lock);
	if (i == IFD_READERS_MAX) {
		log_line(DMAIN, LOG_ERROR, "ifd", "more than %d readers: %s refused",
			 IFD_READERS_MAX, DeviceName);
		return IFD_COMMUNICATION_ERROR;
	}
	r = ifd_reader_open(&dev, err, sizeof(err));
	if (!r) {
		log_line(DMAIN, LOG_ERROR, "ifd", "%s: %s", DeviceName, err);
		return IFD_COMMUNICATION_ERROR;
	}
	pthread_mutex_lock(&luns_lock);
	/* pcscd opens its readers one at a time: the slot found is still free */
	luns[i].lun = Lun;
	luns[i].r = r;
	pthread_mutex_unlock(&luns_lock);
	LOGP(DMAIN, LOG_NOTICE, ifd_reader_name(r), "reader of %s:%u, timeout %u ms",
	     dev.cfg.server_host, dev.cfg.server_port, dev.timeout_ms);
	return IFD_SUCCESS;
}

/* A reader without DEVICENAME has no client slot to be. */
EXPORT RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
	ifd_lib_init();
	log_line(DMAIN, LOG_ERROR, "ifd",
		 "CHANNELID %lu: remsim-ifd needs DEVICENAME \"server=.. client=N slot=N\"",
		 (unsigned long)Channel);
	return IFD_COMMUNICATION_ERROR;
}

EXPORT RESPONSECODE IFDHCloseChannel(DWORD Lun)
{
	struct ifd_reader *r = NULL;
	unsigned int i;

	pthread_mutex_lock(&luns_lock);
	for (i = 0; i < IFD_READERS_MAX; i++)
		if (luns[i].r && luns[i].lun == Lun) {
			r = luns[i].r;
			luns[i].r = NULL;
		}
	pthread_mutex_unlock(&luns_lock);
	if (!r)
		return IFD_NO_SUCH_DEVICE;
	ifd_reader_close(r);
	return IFD_SUCCESS;
}

static RESPONSECODE put_value(PDWORD Length, PUCHAR Value, const void *v, size_t len)
{
	if (*Length < len)
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	memcpy(Value, v, len);
	*Length = len;
	return IFD_SUCCESS;
}

EXPORT RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
	struct ifd_reader *r = reader_of(Lun);
	uint8_t atr[RSPRO_ATR_MAX], one = 1, zero = 0, readers = IFD_READERS_MAX;
	size_t len = sizeof(atr);

	if (!r)
		return IFD_NO_SUCH_DEVICE;
	switch (Tag) {
	case TAG_IFD_ATR:
	case SCARD_ATTR_ATR_STRING:
		if (ifd_reader_atr(r, atr, &len))
			len = 0;
		return put_value(Length, Value, atr, len);
	case TAG_IFD_SLOTS_NUMBER:
		return put_value(Length, Value, &one, 1);
	case TAG_IFD_SIMULTANEOUS_ACCESS:
		return put_value(Length, Value, &readers, 1);
	case TAG_IFD_THREAD_SAFE:
		/* every reader waits on its own: pcscd's other readers go on */
		return put_value(Length, Value, &one, 1);
	case TAG_IFD_SLOT_THREAD_SAFE:
		return put_value(Length, Value, &zero, 1);
	}
	return IFD_ERROR_TAG;
}

EXPORT RESPONSECODE IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value)
{
	return IFD_NOT_SUPPORTED;
}

/* The bankd's card speaks T=0 to us, whatever the bank's reader does. */
EXPORT RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags,
					      UCHAR PTS1, UCHAR PTS2, UCHAR PTS3)
{
	if (!reader_of(Lun))
		return IFD_NO_SUCH_DEVICE;
	return Protocol == SCARD_PROTOCOL_T0 ? IFD_SUCCESS : IFD_PROTOCOL_NOT_SUPPORTED;
}

EXPORT RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
	struct ifd_reader *r = reader_of(Lun);
	uint8_t atr[RSPRO_ATR_MAX];
	size_t len = sizeof(atr);
	enum ifd_power p;
	int ret;

	if (!r)
		return IFD_NO_SUCH_DEVICE;
	switch (Action) {
	case IFD_POWER_UP:
		p = IFD_PWR_UP;
		break;
	case IFD_POWER_DOWN:
		p = IFD_PWR_DOWN;
		break;
	case IFD_RESET:
		p = IFD_PWR_RESET;
		break;
	default:
		return IFD_NOT_SUPPORTED;
	}
	ret = ifd_reader_power(r, p);
	if (ret == -ENODEV) {
		*AtrLength = 0;
		return p == IFD_PWR_DOWN ? IFD_SUCCESS : IFD_ICC_NOT_PRESENT;
	}
	if (ret)
		return IFD_ERROR_POWER_ACTION;
	if (p == IFD_PWR_DOWN) {
		*AtrLength = 0;
		return IFD_SUCCESS;
	}
	/* the bankd sends no new ATR after a reset: the card's first one stands */
	if (ifd_reader_atr(r, atr, &len) || len > *AtrLength) {
		*AtrLength = 0;
		return IFD_ERROR_POWER_ACTION;
	}
	memcpy(Atr, atr, len);
	*AtrLength = len;
	return IFD_SUCCESS;
}

static int xfer(void *arg, const uint8_t *tx, size_t txlen, uint8_t *rx, size_t *rxlen)
{
	return ifd_reader_tpdu(arg, tx, txlen, rx, rxlen);
}

EXPORT RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer,
				      DWORD TxLength, PUCHAR RxBuffer, PDWORD RxLength,
				      PSCARD_IO_HEADER RecvPci)
{
	struct ifd_reader *r = reader_of(Lun);
	size_t len = *RxLength;
	int ret;

	if (!r) {
		*RxLength = 0;
		return IFD_NO_SUCH_DEVICE;
	}
	if (SendPci.Protocol != SCARD_PROTOCOL_T0 && SendPci.Protocol != 0) {
		*RxLength = 0;
		return IFD_PROTOCOL_NOT_SUPPORTED;
	}
	ret = ifd_t0_apdu(TxBuffer, TxLength, RxBuffer, &len, xfer, r);
	if (ret) {
		*RxLength = 0;
		LOGP(DMAIN, LOG_INFO, ifd_reader_name(r), "APDU of %lu bytes failed: %s",
		     (unsigned long)TxLength, strerror(-ret));
		switch (ret) {
		case -ENODEV:
			return IFD_ICC_NOT_PRESENT;
		case -ETIMEDOUT:
			return IFD_RESPONSE_TIMEOUT;
		case -ENOSPC:
			return IFD_ERROR_INSUFFICIENT_BUFFER;
		default:
			return IFD_COMMUNICATION_ERROR;
		}
	}
	*RxLength = len;
	if (RecvPci)
		RecvPci->Protocol = SCARD_PROTOCOL_T0;
	return IFD_SUCCESS;
}

EXPORT RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer,
				DWORD TxLength, PUCHAR RxBuffer, DWORD RxLength,
				LPDWORD pdwBytesReturned)
{
	if (pdwBytesReturned)
		*pdwBytesReturned = 0;
	return IFD_ERROR_NOT_SUPPORTED;
}

EXPORT RESPONSECODE IFDHICCPresence(DWORD Lun)
{
	struct ifd_reader *r = reader_of(Lun);

	if (!r)
		return IFD_NO_SUCH_DEVICE;
	return ifd_reader_present(r) ? IFD_SUCCESS : IFD_ICC_NOT_PRESENT;
}
