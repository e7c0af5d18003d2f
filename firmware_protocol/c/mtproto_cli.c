/*
 * mtproto_cli.c - line-oriented driver of the reference codec, used by the test suite.
 *
 * stdin, one request per line; stdout, one answer per line:
 *   D <kind> <hex|->                decode; "OK <re-encoded hex> key=value..." or "ERR <code>"
 *   E <kind> key=value ...          encode; "OK <hex>" or "ERR <code>"
 *   S <config hex> <data hex>       scale to SI; "OK <acc...> | <gyr...> | <mag...>" (%.17g)
 * kind: data, config, status, command, response. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtproto.h"

#define LINE_MAX_CHARS 8192

static uint8_t in_buf[1100];
static uint8_t out_buf[1100];

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static long parse_hex(const char *s, uint8_t *buf, size_t cap) {
    size_t n = 0;
    if (strcmp(s, "-") == 0) return 0;
    while (s[0] && s[1]) {
        int hi = hexval(s[0]), lo = hexval(s[1]);
        if (hi < 0 || lo < 0 || n >= cap) return -1;
        buf[n++] = (uint8_t)(hi * 16 + lo);
        s += 2;
    }
    return s[0] ? -1 : (long)n;
}

static void print_hex(const uint8_t *b, size_t n) {
    size_t i;
    if (n == 0) fputs("-", stdout);
    for (i = 0; i < n; ++i) printf("%02x", b[i]);
}

static unsigned f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (unsigned)u;
}

static float bits_f32(unsigned long v) {
    uint32_t u = (uint32_t)v;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* key=value lookup in the token list of an E request */
static const char *get(char **toks, int ntok, const char *key) {
    int i;
    size_t k = strlen(key);
    for (i = 0; i < ntok; ++i)
        if (strncmp(toks[i], key, k) == 0 && toks[i][k] == '=') return toks[i] + k + 1;
    return "0";
}
static unsigned long getu(char **toks, int ntok, const char *key) {
    return strtoul(get(toks, ntok, key), NULL, 0);
}
static long geti(char **toks, int ntok, const char *key) { return strtol(get(toks, ntok, key), NULL, 0); }

static void dump_status(const mt_status *s) {
    printf(" state=%u battery=%u temp=%d mv=%u errors=%lu dropped=%u", s->state, s->battery_percent,
           s->temperature_centi_c, s->battery_mv, (unsigned long)s->error_flags, s->device_dropped);
}

static void status_from(char **t, int n, mt_status *s) {
    s->state = (uint8_t)getu(t, n, "state");
    s->battery_percent = (uint8_t)getu(t, n, "battery");
    s->temperature_centi_c = (int16_t)geti(t, n, "temp");
    s->battery_mv = (uint16_t)getu(t, n, "mv");
    s->error_flags = (uint32_t)getu(t, n, "errors");
    s->device_dropped = (uint16_t)getu(t, n, "dropped");
}

static void decode(const char *kind, const uint8_t *b, size_t len) {
    size_t olen = 0;
    int err, i;
    if (strcmp(kind, "data") == 0) {
        static mt_data_packet p;
        err = mt_decode_data(b, len, &p);
        if (err) { printf("ERR %s\n", mt_err_code(err)); return; }
        mt_encode_data(&p, out_buf, sizeof out_buf, &olen);
        printf("OK ");
        print_hex(out_buf, olen);
        printf(" type=%u flags=%u seq=%u ts=%lu n=%u axes=%u counts=", p.type, p.flags, p.sequence,
               (unsigned long)p.timestamp_us, p.n_samples, p.n_axes);
        for (i = 0; i < (int)p.n_samples * p.n_axes; ++i) printf(i ? ",%d" : "%d", p.counts[i]);
        printf("\n");
    } else if (strcmp(kind, "config") == 0) {
        mt_config c;
        err = mt_decode_config(b, len, &c);
        if (err) { printf("ERR %s\n", mt_err_code(err)); return; }
        mt_encode_config(&c, out_buf, sizeof out_buf, &olen);
        printf("OK ");
        print_hex(out_buf, olen);
        printf(" minor=%u caps=%u rate=%lu mag_rate=%lu acc=%u gyr=%u mag=%u acc_scale=%u gyr_scale=%u"
               " mag_scale=%u serial=",
               c.protocol_minor, c.capabilities, (unsigned long)c.sample_rate_mhz,
               (unsigned long)c.mag_rate_mhz, c.acc_range_g, c.gyr_range_dps, c.mag_range_ut,
               f32_bits(c.acc_scale), f32_bits(c.gyr_scale), f32_bits(c.mag_scale));
        print_hex(c.serial, 8);
        printf("\n");
    } else if (strcmp(kind, "status") == 0) {
        mt_status s;
        err = mt_decode_status(b, len, &s);
        if (err) { printf("ERR %s\n", mt_err_code(err)); return; }
        mt_encode_status(&s, out_buf, sizeof out_buf, &olen);
        printf("OK ");
        print_hex(out_buf, olen);
        dump_status(&s);
        printf("\n");
    } else if (strcmp(kind, "command") == 0) {
        mt_command c;
        err = mt_decode_command(b, len, &c);
        if (err) { printf("ERR %s\n", mt_err_code(err)); return; }
        mt_encode_command(&c, out_buf, sizeof out_buf, &olen);
        printf("OK ");
        print_hex(out_buf, olen);
        printf(" op=%u token=%u options=%u rate=%lu acc=%u gyr=%u mag=%u host=%lu apply=%u duration=%u\n",
               c.opcode, c.token, c.options, (unsigned long)c.sample_rate_mhz, c.acc_range_g,
               c.gyr_range_dps, c.mag_range_ut, (unsigned long)c.host_time_us, c.apply, c.duration_s);
    } else if (strcmp(kind, "response") == 0) {
        mt_response r;
        err = mt_decode_response(b, len, &r);
        if (err) { printf("ERR %s\n", mt_err_code(err)); return; }
        mt_encode_response(&r, out_buf, sizeof out_buf, &olen);
        printf("OK ");
        print_hex(out_buf, olen);
        printf(" op=%u token=%u result=%u payload_size=%u rate=%lu mag_rate=%lu acc=%u gyr=%u mag=%u"
               " host=%lu device=%lu",
               r.opcode, r.token, r.result, r.payload_size, (unsigned long)r.sample_rate_mhz,
               (unsigned long)r.mag_rate_mhz, r.acc_range_g, r.gyr_range_dps, r.mag_range_ut,
               (unsigned long)r.host_time_us, (unsigned long)r.device_time_us);
        dump_status(&r.status);
        printf("\n");
    } else {
        printf("ERR kind\n");
    }
}

static void encode(const char *kind, char **t, int n) {
    size_t olen = 0;
    int err = MT_ERR_BUFFER;
    if (strcmp(kind, "data") == 0) {
        static mt_data_packet p;
        const char *s = get(t, n, "counts");
        int k = 0;
        char *end;
        memset(&p, 0, sizeof p);
        p.type = (uint8_t)getu(t, n, "type");
        p.flags = (uint8_t)getu(t, n, "flags");
        p.sequence = (uint16_t)getu(t, n, "seq");
        p.timestamp_us = (uint32_t)getu(t, n, "ts");
        p.n_samples = (uint16_t)getu(t, n, "n");
        p.n_axes = (uint8_t)getu(t, n, "axes");
        while (*s && k < (int)MT_MAX_COUNTS) {
            long v = strtol(s, &end, 10);
            if (end == s) break; /* not a number: stop */
            p.counts[k++] = (int16_t)v;
            s = (*end == ',') ? end + 1 : end;
        }
        err = mt_encode_data(&p, out_buf, sizeof out_buf, &olen);
    } else if (strcmp(kind, "config") == 0) {
        mt_config c;
        memset(&c, 0, sizeof c);
        c.protocol_minor = (uint8_t)getu(t, n, "minor");
        c.capabilities = (uint16_t)getu(t, n, "caps");
        c.sample_rate_mhz = (uint32_t)getu(t, n, "rate");
        c.mag_rate_mhz = (uint32_t)getu(t, n, "mag_rate");
        c.acc_range_g = (uint16_t)getu(t, n, "acc");
        c.gyr_range_dps = (uint16_t)getu(t, n, "gyr");
        c.mag_range_ut = (uint16_t)getu(t, n, "mag");
        c.acc_scale = bits_f32(getu(t, n, "acc_scale"));
        c.gyr_scale = bits_f32(getu(t, n, "gyr_scale"));
        c.mag_scale = bits_f32(getu(t, n, "mag_scale"));
        if (parse_hex(get(t, n, "serial"), c.serial, 8) != 8) memset(c.serial, 0, 8);
        err = mt_encode_config(&c, out_buf, sizeof out_buf, &olen);
    } else if (strcmp(kind, "status") == 0) {
        mt_status s;
        status_from(t, n, &s);
        err = mt_encode_status(&s, out_buf, sizeof out_buf, &olen);
    } else if (strcmp(kind, "command") == 0) {
        mt_command c;
        memset(&c, 0, sizeof c);
        c.opcode = (uint8_t)getu(t, n, "op");
        c.token = (uint8_t)getu(t, n, "token");
        c.options = (uint8_t)getu(t, n, "options");
        c.sample_rate_mhz = (uint32_t)getu(t, n, "rate");
        c.acc_range_g = (uint16_t)getu(t, n, "acc");
        c.gyr_range_dps = (uint16_t)getu(t, n, "gyr");
        c.mag_range_ut = (uint16_t)getu(t, n, "mag");
        c.host_time_us = (uint32_t)getu(t, n, "host");
        c.apply = (uint8_t)getu(t, n, "apply");
        c.duration_s = (uint8_t)getu(t, n, "duration");
        err = mt_encode_command(&c, out_buf, sizeof out_buf, &olen);
    } else if (strcmp(kind, "response") == 0) {
        mt_response r;
        memset(&r, 0, sizeof r);
        r.opcode = (uint8_t)getu(t, n, "op");
        r.token = (uint8_t)getu(t, n, "token");
        r.result = (uint8_t)getu(t, n, "result");
        r.payload_size = (uint16_t)getu(t, n, "payload_size");
        r.sample_rate_mhz = (uint32_t)getu(t, n, "rate");
        r.mag_rate_mhz = (uint32_t)getu(t, n, "mag_rate");
        r.acc_range_g = (uint16_t)getu(t, n, "acc");
        r.gyr_range_dps = (uint16_t)getu(t, n, "gyr");
        r.mag_range_ut = (uint16_t)getu(t, n, "mag");
        r.host_time_us = (uint32_t)getu(t, n, "host");
        r.device_time_us = (uint32_t)getu(t, n, "device");
        status_from(t, n, &r.status);
        err = mt_encode_response(&r, out_buf, sizeof out_buf, &olen);
    }
    if (err) { printf("ERR %s\n", mt_err_code(err)); return; }
    printf("OK ");
    print_hex(out_buf, olen);
    printf("\n");
}

static void scale(const char *cfg_hex, const char *data_hex) {
    static uint8_t cb[64];
    static mt_data_packet p;
    static double acc[3 * 90], gyr[3 * 90], mag[3 * 90];
    mt_config c;
    long clen = parse_hex(cfg_hex, cb, sizeof cb), dlen = parse_hex(data_hex, in_buf, sizeof in_buf);
    int err, i, n3;
    if (clen < 0 || dlen < 0) { printf("ERR hex\n"); return; }
    err = mt_decode_config(cb, (size_t)clen, &c);
    if (!err) err = mt_decode_data(in_buf, (size_t)dlen, &p);
    if (!err) err = mt_data_to_si(&p, &c, acc, gyr, mag);
    if (err) { printf("ERR %s\n", mt_err_code(err)); return; }
    n3 = 3 * p.n_samples;
    printf("OK");
    if (p.type == MT_TYPE_DATA) {
        for (i = 0; i < n3; ++i) printf(" %.17g", acc[i]);
        printf(" |");
        for (i = 0; i < n3; ++i) printf(" %.17g", gyr[i]);
    } else {
        printf(" |");
    }
    printf(" |");
    if (p.type == MT_TYPE_MAG || p.n_axes == 9)
        for (i = 0; i < n3; ++i) printf(" %.17g", mag[i]);
    printf("\n");
}

int main(void) {
    static char line[LINE_MAX_CHARS];
    static char *toks[64];
    while (fgets(line, sizeof line, stdin)) {
        int n = 0;
        char *s = strtok(line, " \t\r\n");
        while (s && n < 64) {
            toks[n++] = s;
            s = strtok(NULL, " \t\r\n");
        }
        if (n == 0) continue;
        if (toks[0][0] == 'D' && n >= 3) {
            long len = parse_hex(toks[2], in_buf, sizeof in_buf);
            if (len < 0) {
                printf("ERR hex\n");
            } else {
                /* exact-size heap copy, so that AddressSanitizer catches any read past len
                 * (the driver may allocate; the codec itself never does) */
                uint8_t *exact = (uint8_t *)malloc(len > 0 ? (size_t)len : 1u);
                if (!exact) return 1;
                memcpy(exact, in_buf, (size_t)len);
                decode(toks[1], exact, (size_t)len);
                free(exact);
            }
        } else if (toks[0][0] == 'E' && n >= 2) {
            encode(toks[1], toks + 2, n - 2);
        } else if (toks[0][0] == 'S' && n >= 3) {
            scale(toks[1], toks[2]);
        } else {
            printf("ERR request\n");
        }
        fflush(stdout);
    }
    return 0;
}
