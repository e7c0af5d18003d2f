/*
 * mtproto.c - reference C99 encoder/decoder of the motiontrack sensor protocol v1.0.
 * See mtproto.h and ../SPEC.md. SPDX-License-Identifier: Apache-2.0
 */
#include "mtproto.h"

#include <math.h>
#include <string.h>

/* ---- little-endian helpers (portable: no unaligned access, no endianness assumption) -- */
static uint16_t rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | ((uint16_t)p[1] << 8)); }
static int16_t rd_i16(const uint8_t *p) {
    uint16_t u = rd_u16(p);
    return (int16_t)(u >= 0x8000u ? (int32_t)u - 0x10000 : (int32_t)u);
}
static uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static float rd_f32(const uint8_t *p) {
    uint32_t u = rd_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static void wr_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}
static void wr_i16(uint8_t *p, int16_t v) { wr_u16(p, (uint16_t)v); }
static void wr_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)(v >> 24);
}
static void wr_f32(uint8_t *p, float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    wr_u32(p, u);
}

const char *mt_err_code(int err) {
    switch (err) {
    case MT_OK: return "ok";
    case MT_ERR_TRUNCATED: return "truncated";
    case MT_ERR_VERSION: return "version";
    case MT_ERR_PACKET_TYPE: return "packet_type";
    case MT_ERR_TOO_LONG: return "too_long";
    case MT_ERR_EMPTY: return "empty";
    case MT_ERR_LENGTH: return "length";
    case MT_ERR_VALUE: return "value";
    case MT_ERR_OPCODE: return "opcode";
    case MT_ERR_BUFFER: return "buffer";
    default: return "unknown";
    }
}

/* SPEC 3.1: empty -> truncated, major -> version, type -> packet_type. */
static int check_header(const uint8_t *buf, size_t len, unsigned type_a, unsigned type_b) {
    unsigned type;
    if (len < 1u) return MT_ERR_TRUNCATED;
    if ((unsigned)(buf[0] >> 4) != MT_PROTOCOL_MAJOR) return MT_ERR_VERSION;
    type = buf[0] & 0x0Fu;
    if (type != type_a && type != type_b) return MT_ERR_PACKET_TYPE;
    return MT_OK;
}

static uint8_t header_byte(unsigned type) { return (uint8_t)((MT_PROTOCOL_MAJOR << 4) | type); }

/* ------------------------------------------------------------------------- DATA / MAG */
static unsigned axes_of(unsigned type, unsigned flags) {
    if (type == MT_TYPE_MAG) return 3u;
    return (flags & MT_FLAG_MAG_PRESENT) ? 9u : 6u;
}

int mt_decode_data(const uint8_t *buf, size_t len, mt_data_packet *out) {
    unsigned type, axes, i, n_counts;
    size_t sample_bytes;
    int err = check_header(buf, len, MT_TYPE_DATA, MT_TYPE_MAG);
    if (err) return err;
    if (len > MT_MAX_PAYLOAD) return MT_ERR_TOO_LONG;
    if (len < MT_HEADER_SIZE) return MT_ERR_TRUNCATED;
    if (len == MT_HEADER_SIZE) return MT_ERR_EMPTY;
    type = buf[0] & 0x0Fu;
    axes = axes_of(type, buf[1]);
    sample_bytes = 2u * axes;
    if ((len - MT_HEADER_SIZE) % sample_bytes != 0u) return MT_ERR_LENGTH;
    out->type = (uint8_t)type;
    out->flags = buf[1];
    out->sequence = rd_u16(buf + 2);
    out->timestamp_us = rd_u32(buf + 4);
    out->n_axes = (uint8_t)axes;
    out->n_samples = (uint16_t)((len - MT_HEADER_SIZE) / sample_bytes);
    n_counts = (unsigned)out->n_samples * axes;
    for (i = 0; i < n_counts; ++i) out->counts[i] = rd_i16(buf + MT_HEADER_SIZE + 2u * i);
    return MT_OK;
}

int mt_encode_data(const mt_data_packet *pkt, uint8_t *buf, size_t cap, size_t *out_len) {
    unsigned i, n_counts;
    size_t len;
    if (pkt->type != MT_TYPE_DATA && pkt->type != MT_TYPE_MAG) return MT_ERR_BUFFER;
    if (pkt->n_axes != axes_of(pkt->type, pkt->flags) || pkt->n_samples == 0u) return MT_ERR_BUFFER;
    n_counts = (unsigned)pkt->n_samples * pkt->n_axes;
    if (n_counts > MT_MAX_COUNTS) return MT_ERR_BUFFER;
    len = MT_HEADER_SIZE + 2u * (size_t)n_counts;
    if (len > cap) return MT_ERR_BUFFER;
    buf[0] = header_byte(pkt->type);
    buf[1] = pkt->flags;
    wr_u16(buf + 2, pkt->sequence);
    wr_u32(buf + 4, pkt->timestamp_us);
    for (i = 0; i < n_counts; ++i) wr_i16(buf + MT_HEADER_SIZE + 2u * i, pkt->counts[i]);
    *out_len = len;
    return MT_OK;
}

int mt_data_to_si(const mt_data_packet *pkt, const mt_config *cfg, double *acc, double *gyr,
                  double *mag) {
    unsigned i, k, a = pkt->n_axes;
    if (a != axes_of(pkt->type, pkt->flags)) return MT_ERR_VALUE;
    for (i = 0; i < pkt->n_samples; ++i) {
        const int16_t *c = pkt->counts + (size_t)i * a;
        for (k = 0; k < 3u; ++k) {
            if (pkt->type == MT_TYPE_MAG) {
                mag[3u * i + k] = (double)c[k] * (double)cfg->mag_scale;
            } else {
                acc[3u * i + k] = (double)c[k] * (double)cfg->acc_scale;
                gyr[3u * i + k] = (double)c[3u + k] * (double)cfg->gyr_scale;
                if (a == 9u) mag[3u * i + k] = (double)c[6u + k] * (double)cfg->mag_scale;
            }
        }
    }
    return MT_OK;
}

/* ----------------------------------------------------------------------------- CONFIG */
static int scale_ok(float s) { return isfinite(s) && s > 0.0f; }

int mt_decode_config(const uint8_t *buf, size_t len, mt_config *out) {
    int err = check_header(buf, len, MT_TYPE_CONFIG, MT_TYPE_CONFIG);
    if (err) return err;
    if (len < MT_CONFIG_SIZE) return MT_ERR_TRUNCATED;
    out->protocol_minor = buf[1];
    out->capabilities = rd_u16(buf + 2);
    out->sample_rate_mhz = rd_u32(buf + 4);
    out->mag_rate_mhz = rd_u32(buf + 8);
    out->acc_range_g = rd_u16(buf + 12);
    out->gyr_range_dps = rd_u16(buf + 14);
    out->mag_range_ut = rd_u16(buf + 16);
    out->acc_scale = rd_f32(buf + 20);
    out->gyr_scale = rd_f32(buf + 24);
    out->mag_scale = rd_f32(buf + 28);
    memcpy(out->serial, buf + 32, 8u);
    if (out->sample_rate_mhz == 0u) return MT_ERR_VALUE;
    if (out->acc_range_g == 0u || out->gyr_range_dps == 0u || out->mag_range_ut == 0u) return MT_ERR_VALUE;
    if (!scale_ok(out->acc_scale) || !scale_ok(out->gyr_scale) || !scale_ok(out->mag_scale))
        return MT_ERR_VALUE;
    return MT_OK;
}

int mt_encode_config(const mt_config *cfg, uint8_t *buf, size_t cap, size_t *out_len) {
    if (cap < MT_CONFIG_SIZE) return MT_ERR_BUFFER;
    buf[0] = header_byte(MT_TYPE_CONFIG);
    buf[1] = cfg->protocol_minor;
    wr_u16(buf + 2, cfg->capabilities);
    wr_u32(buf + 4, cfg->sample_rate_mhz);
    wr_u32(buf + 8, cfg->mag_rate_mhz);
    wr_u16(buf + 12, cfg->acc_range_g);
    wr_u16(buf + 14, cfg->gyr_range_dps);
    wr_u16(buf + 16, cfg->mag_range_ut);
    wr_u16(buf + 18, 0u);
    wr_f32(buf + 20, cfg->acc_scale);
    wr_f32(buf + 24, cfg->gyr_scale);
    wr_f32(buf + 28, cfg->mag_scale);
    memcpy(buf + 32, cfg->serial, 8u);
    *out_len = MT_CONFIG_SIZE;
    return MT_OK;
}

/* ----------------------------------------------------------------------------- STATUS */
/* Status body starts at byte 1 of the STATUS packet and at byte 4 of a GET_STATUS reply. */
static int decode_status_body(const uint8_t *p, mt_status *out) {
    out->state = p[0];
    out->battery_percent = p[1];
    out->temperature_centi_c = rd_i16(p + 3);
    out->battery_mv = rd_u16(p + 5);
    out->error_flags = rd_u32(p + 7);
    out->device_dropped = rd_u16(p + 11);
    return MT_OK;
}

static void encode_status_body(const mt_status *st, uint8_t *p) {
    p[0] = st->state;
    p[1] = st->battery_percent;
    p[2] = 0u;
    wr_i16(p + 3, st->temperature_centi_c);
    wr_u16(p + 5, st->battery_mv);
    wr_u32(p + 7, st->error_flags);
    wr_u16(p + 11, st->device_dropped);
    wr_u16(p + 13, 0u);
}

int mt_decode_status(const uint8_t *buf, size_t len, mt_status *out) {
    int err = check_header(buf, len, MT_TYPE_STATUS, MT_TYPE_STATUS);
    if (err) return err;
    if (len < MT_STATUS_SIZE) return MT_ERR_TRUNCATED;
    decode_status_body(buf + 1, out);
    if (out->state > 2u) return MT_ERR_VALUE;
    if (out->battery_percent > 100u && out->battery_percent != 255u) return MT_ERR_VALUE;
    return MT_OK;
}

int mt_encode_status(const mt_status *st, uint8_t *buf, size_t cap, size_t *out_len) {
    if (cap < MT_STATUS_SIZE) return MT_ERR_BUFFER;
    buf[0] = header_byte(MT_TYPE_STATUS);
    encode_status_body(st, buf + 1);
    *out_len = MT_STATUS_SIZE;
    return MT_OK;
}

/* --------------------------------------------------------------- COMMAND / RESPONSE */
int mt_command_params_size(uint8_t opcode) {
    switch (opcode) {
    case MT_OP_START: return 1;
    case MT_OP_STOP: return 0;
    case MT_OP_SET_SAMPLE_RATE: return 4;
    case MT_OP_SET_RANGES: return 6;
    case MT_OP_TIME_SYNC: return 5;
    case MT_OP_IDENTIFY: return 1;
    case MT_OP_GET_CONFIG: return 0;
    case MT_OP_GET_STATUS: return 0;
    default: return -1;
    }
}

int mt_reply_payload_size(uint8_t opcode) {
    switch (opcode) {
    case MT_OP_START: return 2;
    case MT_OP_STOP: return 0;
    case MT_OP_SET_SAMPLE_RATE: return 4;
    case MT_OP_SET_RANGES: return 6;
    case MT_OP_TIME_SYNC: return 8;
    case MT_OP_IDENTIFY: return 0;
    case MT_OP_GET_CONFIG: return 14;
    case MT_OP_GET_STATUS: return 15;
    default: return -1;
    }
}

int mt_decode_command(const uint8_t *buf, size_t len, mt_command *out) {
    const uint8_t *p = buf + 3;
    int need;
    int err = check_header(buf, len, MT_TYPE_COMMAND, MT_TYPE_COMMAND);
    if (err) return err;
    if (len < 3u) return MT_ERR_TRUNCATED;
    memset(out, 0, sizeof *out);
    out->opcode = buf[1];
    out->token = buf[2];
    need = mt_command_params_size(out->opcode);
    if (need < 0) return MT_ERR_OPCODE;
    if (len - 3u < (size_t)need) return MT_ERR_LENGTH;
    switch (out->opcode) {
    case MT_OP_START: out->options = p[0]; break;
    case MT_OP_SET_SAMPLE_RATE: out->sample_rate_mhz = rd_u32(p); break;
    case MT_OP_SET_RANGES:
        out->acc_range_g = rd_u16(p);
        out->gyr_range_dps = rd_u16(p + 2);
        out->mag_range_ut = rd_u16(p + 4);
        break;
    case MT_OP_TIME_SYNC:
        out->host_time_us = rd_u32(p);
        out->apply = p[4];
        break;
    case MT_OP_IDENTIFY: out->duration_s = p[0]; break;
    default: break;
    }
    return MT_OK;
}

int mt_encode_command(const mt_command *cmd, uint8_t *buf, size_t cap, size_t *out_len) {
    uint8_t *p = buf + 3;
    int need = mt_command_params_size(cmd->opcode);
    if (need < 0 || cap < 3u + (size_t)need) return MT_ERR_BUFFER;
    buf[0] = header_byte(MT_TYPE_COMMAND);
    buf[1] = cmd->opcode;
    buf[2] = cmd->token;
    switch (cmd->opcode) {
    case MT_OP_START: p[0] = cmd->options; break;
    case MT_OP_SET_SAMPLE_RATE: wr_u32(p, cmd->sample_rate_mhz); break;
    case MT_OP_SET_RANGES:
        wr_u16(p, cmd->acc_range_g);
        wr_u16(p + 2, cmd->gyr_range_dps);
        wr_u16(p + 4, cmd->mag_range_ut);
        break;
    case MT_OP_TIME_SYNC:
        wr_u32(p, cmd->host_time_us);
        p[4] = cmd->apply;
        break;
    case MT_OP_IDENTIFY: p[0] = cmd->duration_s; break;
    default: break;
    }
    *out_len = 3u + (size_t)need;
    return MT_OK;
}

int mt_decode_response(const uint8_t *buf, size_t len, mt_response *out) {
    const uint8_t *p = buf + 4;
    int need;
    int err = check_header(buf, len, MT_TYPE_RESPONSE, MT_TYPE_RESPONSE);
    if (err) return err;
    if (len < 4u) return MT_ERR_TRUNCATED;
    memset(out, 0, sizeof *out);
    out->opcode = buf[1];
    out->token = buf[2];
    out->result = buf[3];
    need = mt_reply_payload_size(out->opcode);
    if (need < 0) return MT_ERR_OPCODE;
    if (out->result != MT_RESULT_OK) return MT_OK; /* unknown non-zero results are failures */
    if (len - 4u < (size_t)need) return MT_ERR_LENGTH;
    switch (out->opcode) {
    case MT_OP_START: out->payload_size = rd_u16(p); break;
    case MT_OP_SET_SAMPLE_RATE: out->sample_rate_mhz = rd_u32(p); break;
    case MT_OP_SET_RANGES:
        out->acc_range_g = rd_u16(p);
        out->gyr_range_dps = rd_u16(p + 2);
        out->mag_range_ut = rd_u16(p + 4);
        break;
    case MT_OP_TIME_SYNC:
        out->host_time_us = rd_u32(p);
        out->device_time_us = rd_u32(p + 4);
        break;
    case MT_OP_GET_CONFIG:
        out->sample_rate_mhz = rd_u32(p);
        out->mag_rate_mhz = rd_u32(p + 4);
        out->acc_range_g = rd_u16(p + 8);
        out->gyr_range_dps = rd_u16(p + 10);
        out->mag_range_ut = rd_u16(p + 12);
        break;
    case MT_OP_GET_STATUS: decode_status_body(p, &out->status); break;
    default: break;
    }
    return MT_OK;
}

int mt_encode_response(const mt_response *rsp, uint8_t *buf, size_t cap, size_t *out_len) {
    uint8_t *p = buf + 4;
    int need = mt_reply_payload_size(rsp->opcode);
    if (need < 0) return MT_ERR_BUFFER;
    if (rsp->result != MT_RESULT_OK) need = 0;
    if (cap < 4u + (size_t)need) return MT_ERR_BUFFER;
    buf[0] = header_byte(MT_TYPE_RESPONSE);
    buf[1] = rsp->opcode;
    buf[2] = rsp->token;
    buf[3] = rsp->result;
    if (rsp->result == MT_RESULT_OK) {
        switch (rsp->opcode) {
        case MT_OP_START: wr_u16(p, rsp->payload_size); break;
        case MT_OP_SET_SAMPLE_RATE: wr_u32(p, rsp->sample_rate_mhz); break;
        case MT_OP_SET_RANGES:
            wr_u16(p, rsp->acc_range_g);
            wr_u16(p + 2, rsp->gyr_range_dps);
            wr_u16(p + 4, rsp->mag_range_ut);
            break;
        case MT_OP_TIME_SYNC:
            wr_u32(p, rsp->host_time_us);
            wr_u32(p + 4, rsp->device_time_us);
            break;
        case MT_OP_GET_CONFIG:
            wr_u32(p, rsp->sample_rate_mhz);
            wr_u32(p + 4, rsp->mag_rate_mhz);
            wr_u16(p + 8, rsp->acc_range_g);
            wr_u16(p + 10, rsp->gyr_range_dps);
            wr_u16(p + 12, rsp->mag_range_ut);
            break;
        case MT_OP_GET_STATUS: encode_status_body(&rsp->status, p); break;
        default: break;
        }
    }
    *out_len = 4u + (size_t)need;
    return MT_OK;
}
