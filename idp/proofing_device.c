/*
 * idp/proofing_device.c — device proofing over mutual TLS
 * (docs/proofing.md "Devices").
 *
 *   POST /proofing/device    (no body) over TLS with the device's
 *                            certificate (tls_client_ca)
 *
 * The certificate must verify against tls_client_ca.  Its subject
 * CN names the device's inventory entry and its subject serialNumber
 * (OID 2.5.4.5) carries the hardware serial, as in IEEE 802.1AR device
 * identity certificates; the serial must equal the inventory's.  Without
 * a CN the serial alone finds the entry.  When the inventory also records an assigned IP
 * address, the request must come from it.  The comparison is recorded
 * as a proofing record of the device (valid, or failed with the reason)
 * and answered as JSON: 200 proofed, 403 SKM-7007 mismatch, 401 SKM-7008
 * no or bad certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "idp_int.h"
#include "proofing/proofing.h"

void
idp_h_proofing_device(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct dir_device *d = NULL;
	struct prf_record *rec = NULL;
	char serial[PRF_SERIAL_MAX], cn[DIR_NAME_MAX + 1], why[PRF_REASON_MAX];
	const char *reason = NULL, *ip = brk_req_client_ip(r);
	int rc;

	(void)app;
	rc = brk_req_client_cert(r, serial, sizeof(serial), cn, sizeof(cn));
	if (rc != 0 || serial[0] == '\0') {
		if (cm_audit_emit(brk_req_id(r), "proofing.device_refused",
		    "{s:s, s:s}", "ip", ip, "reason", rc == CM_ERR_NOTFOUND ?
		    "no client certificate" : rc == 0 ? "no serialNumber" :
		    "certificate does not verify") != 0) {
			brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
			return;
		}
		brk_resp_error(r, CM_E_PRF_DEVICE_CERT, NULL);
		return;
	}
	/* the CN names the inventory entry; without one, the serial does */
	if (cn[0] != '\0')
		rc = dir_name_check(cn) == 0 ? dir_device_find(idp->dir, cn,
		    &d) : CM_ERR_NOTFOUND;
	else
		rc = dir_device_find_serial(idp->dir, serial, &d);
	if (rc != 0) {
		char safe[PRF_SERIAL_MAX];

		if (rc != CM_ERR_NOTFOUND && rc != CM_ERR_INVAL) {
			brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
			return;
		}
		/* nothing in the inventory to attach a record to */
		cm_log_sanitize(safe, sizeof(safe), serial, strlen(serial));
		if (cm_audit_emit(brk_req_id(r), "proofing.device_refused",
		    "{s:s, s:s, s:s}", "ip", ip, "serial", safe, "reason",
		    "serial not in the inventory") != 0) {
			brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
			return;
		}
		brk_resp_error(r, CM_E_PRF_DEVICE_MISMATCH, NULL);
		return;
	}
	if ((rec = calloc(1, sizeof(*rec))) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	if (strcmp(serial, d->serial) != 0)
		reason = "serial number does not match the inventory";
	else if (d->ip != NULL && strcmp(d->ip, ip) != 0)
		reason = "request not from the assigned IP address";
	else if (d->status != DIR_STATUS_ACTIVE)
		reason = "device not active in the inventory";
	rec->kind = PRF_KIND_DEVICE;
	rec->ial = PRF_IAL1;
	rec->method = PRF_M_DEVICE_INVENTORY;
	rec->status = reason == NULL ? PRF_ST_VALID : PRF_ST_FAILED;
	rec->time = cm_time();
	rec->expires = rec->time + (int64_t)idp->cfg->prf_validity * 86400;
	strlcpy(rec->subject, d->id, sizeof(rec->subject));
	strlcpy(rec->officer, "system:device-mtls", sizeof(rec->officer));
	strlcpy(rec->serial, d->serial, sizeof(rec->serial));
	strlcpy(rec->ip, d->ip != NULL ? d->ip : "", sizeof(rec->ip));
	cm_log_sanitize(rec->presented, sizeof(rec->presented), serial,
	    strlen(serial));
	if (reason != NULL)
		strlcpy(rec->reason, reason, sizeof(rec->reason));
	if ((rc = prf_add(idp->dir, rec, NULL, 0, brk_req_id(r), why,
	    sizeof(why))) != 0) {
		brk_resp_error(r, rc == CM_ERR_IO ? CM_E_AUDIT_UNAVAILABLE :
		    rc == CM_ERR_INVAL ? CM_E_PRF_INVALID :
		    CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	if (reason != NULL) {
		brk_resp_error(r, CM_E_PRF_DEVICE_MISMATCH, reason);
		goto out;
	}
	brk_resp_json(r, 200, json_pack("{s:s, s:s, s:b}", "device", d->id,
	    "record", rec->id, "proofed", 1));
 out:
	free(rec);
	dir_device_free(&d);
}
