/*
 * mtproto.h - reference C99 encoder/decoder of the motiontrack sensor protocol v1.0.
 *
 * See ../SPEC.md. No heap allocation, fixed-size buffers, no floating point except in
 * mt_data_to_si(). Every decoder either fills its output and returns MT_OK or returns a
 * negative mt_err matching the error codes of SPEC.md section 3.1; it never reads past
 * `len` bytes. Encoders return MT_ERR_BUFFER when `cap` is too small.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MTPROTO_H
#define MTPROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MT_PROTOCOL_MAJOR 1u
#define MT_PROTOCOL_MINOR 0u

/* Packet types (low nibble of byte 0, SPEC 3). */
#define MT_TYPE_DATA 0x1u
#define MT_TYPE_MAG 0x2u
#define MT_TYPE_COMMAND 0x3u
#define MT_TYPE_STATUS 0x4u
#define MT_TYPE_CONFIG 0x5u
#define MT_TYPE_RESPONSE 0x6u

/* DATA flags (SPEC 4). */
#define MT_FLAG_MAG_PRESENT 0x01u
#define MT_FLAG_ACC_SATURATED 0x02u
#define MT_FLAG_GYR_SATURATED 0x04u
#define MT_FLAG_MAG_SATURATED 0x08u
#define MT_FLAG_CLOCK_SYNCED 0x10u

#define MT_HEADER_SIZE 8u
#define MT_MAX_PAYLOAD 514u
#define MT_MAX_COUNTS ((MT_MAX_PAYLOAD - MT_HEADER_SIZE) / 2u) /* 253 int16 */
#define MT_CONFIG_SIZE 40u
#define MT_STATUS_SIZE 16u

/* Opcodes and result codes (SPEC 7). */
#define MT_OP_START 0x01u
#define MT_OP_STOP 0x02u
#define MT_OP_SET_SAMPLE_RATE 0x03u
#define MT_OP_SET_RANGES 0x04u
#define MT_OP_TIME_SYNC 0x05u
#define MT_OP_IDENTIFY 0x06u
#define MT_OP_GET_CONFIG 0x07u
#define MT_OP_GET_STATUS 0x08u

#define MT_RESULT_OK 0x00u
#define MT_RESULT_UNKNOWN_OPCODE 0x01u
#define MT_RESULT_INVALID_LENGTH 0x02u
#define MT_RESULT_INVALID_PARAMETER 0x03u
#define MT_RESULT_INVALID_STATE 0x04u
#define MT_RESULT_UNSUPPORTED 0x05u
#define MT_RESULT_HARDWARE_FAULT 0x06u
#define MT_RESULT_BUSY 0x07u

typedef enum {
    MT_OK = 0,
    MT_ERR_TRUNCATED = -1,
    MT_ERR_VERSION = -2,
    MT_ERR_PACKET_TYPE = -3,
    MT_ERR_TOO_LONG = -4,
    MT_ERR_EMPTY = -5,
    MT_ERR_LENGTH = -6,
    MT_ERR_VALUE = -7,
    MT_ERR_OPCODE = -8,
    MT_ERR_BUFFER = -9 /* encoder: output buffer too small or fields inconsistent */
} mt_err;

/* The stable code string of SPEC 3.1 ("truncated", ...), "ok" or "buffer". */
const char *mt_err_code(int err);

/* DATA (type 1) or MAG (type 2) packet with raw counts. */
typedef struct {
    uint8_t type;          /* MT_TYPE_DATA or MT_TYPE_MAG */
    uint8_t flags;         /* MT_FLAG_*, reserved bits preserved */
    uint16_t sequence;
    uint32_t timestamp_us; /* device time of the first sample */
    uint16_t n_samples;
    uint8_t n_axes;        /* 6, 9 (DATA) or 3 (MAG) */
    int16_t counts[MT_MAX_COUNTS]; /* n_samples * n_axes, row-major */
} mt_data_packet;

typedef struct {
    uint8_t protocol_minor;
    uint16_t capabilities;
    uint32_t sample_rate_mhz;
    uint32_t mag_rate_mhz;
    uint16_t acc_range_g;
    uint16_t gyr_range_dps;
    uint16_t mag_range_ut;
    float acc_scale; /* m/s^2 per count */
    float gyr_scale; /* rad/s per count */
    float mag_scale; /* uT per count */
    uint8_t serial[8]; /* ASCII, NUL-padded */
} mt_config;

typedef struct {
    uint8_t state; /* 0 idle, 1 streaming, 2 fault */
    uint8_t battery_percent; /* 0..100, 255 unknown */
    int16_t temperature_centi_c; /* -32768 unknown */
    uint16_t battery_mv; /* 0 unknown */
    uint32_t error_flags;
    uint16_t device_dropped;
} mt_status;

/* Command parameters: only the fields of the opcode are used (SPEC 7.2). */
typedef struct {
    uint8_t opcode;
    uint8_t token;
    uint8_t options;          /* START */
    uint32_t sample_rate_mhz; /* SET_SAMPLE_RATE */
    uint16_t acc_range_g;     /* SET_RANGES */
    uint16_t gyr_range_dps;
    uint16_t mag_range_ut;
    uint32_t host_time_us;    /* TIME_SYNC */
    uint8_t apply;
    uint8_t duration_s;       /* IDENTIFY */
} mt_command;

/* Response: payload fields of the opcode are valid only when result == OK (SPEC 7.3). */
typedef struct {
    uint8_t opcode;
    uint8_t token;
    uint8_t result;
    uint16_t payload_size;    /* START */
    uint32_t sample_rate_mhz; /* SET_SAMPLE_RATE, GET_CONFIG */
    uint32_t mag_rate_mhz;    /* GET_CONFIG */
    uint16_t acc_range_g;     /* SET_RANGES, GET_CONFIG */
    uint16_t gyr_range_dps;
    uint16_t mag_range_ut;
    uint32_t host_time_us;    /* TIME_SYNC */
    uint32_t device_time_us;
    mt_status status;         /* GET_STATUS */
} mt_response;

int mt_decode_data(const uint8_t *buf, size_t len, mt_data_packet *out);
int mt_encode_data(const mt_data_packet *pkt, uint8_t *buf, size_t cap, size_t *out_len);

int mt_decode_config(const uint8_t *buf, size_t len, mt_config *out);
int mt_encode_config(const mt_config *cfg, uint8_t *buf, size_t cap, size_t *out_len);

int mt_decode_status(const uint8_t *buf, size_t len, mt_status *out);
int mt_encode_status(const mt_status *st, uint8_t *buf, size_t cap, size_t *out_len);

int mt_decode_command(const uint8_t *buf, size_t len, mt_command *out);
int mt_encode_command(const mt_command *cmd, uint8_t *buf, size_t cap, size_t *out_len);

int mt_decode_response(const uint8_t *buf, size_t len, mt_response *out);
int mt_encode_response(const mt_response *rsp, uint8_t *buf, size_t cap, size_t *out_len);

/* Scale counts to SI (count * (double)scale). Output arrays hold n_samples x 3 values;
 * acc/gyr are untouched for MAG packets, mag untouched without magnetometer data.
 * Returns MT_ERR_VALUE if the packet's axes do not match its type. */
int mt_data_to_si(const mt_data_packet *pkt, const mt_config *cfg, double *acc, double *gyr,
                  double *mag);

/* Parameter/payload sizes per opcode; -1 for unknown opcodes. */
int mt_command_params_size(uint8_t opcode);
int mt_reply_payload_size(uint8_t opcode);

#ifdef __cplusplus
}
#endif
#endif /* MTPROTO_H */
