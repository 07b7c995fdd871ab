/* A record that survives power-off on Arduino boards without EEPROM (TINYML_STORE): what the
 * app keeps with port_store_save(), such as its calibration: the header of tinyml_store.h, then
 * the data, written as one piece.
 * - ESP32: in NVS through the core's Preferences (namespace "tinyml", key "record"); NVS levels
 *   the wear itself.
 * - Mbed OS cores (Nano 33 BLE, Raspberry Pi Pico): the last sector of the chip's flash through
 *   Mbed's FlashIAP, as Arduino's flash tutorial for those boards does. A sketch that reaches
 *   that sector has no store (RAM only) rather than erase itself. A save erases the sector only
 *   when the record changes: flash wears by erase cycles (10,000 on the nRF52840).
 * Both keep the record through an upload of new firmware; one of another length (another model)
 * is not loaded. */
#include "tinyml_config.h"

/* Only an app that keeps a record (TINYML_APP_STORES: vibration) compiles this in: the other
 * apps build on these cores without it. */
#if defined(TINYML_APP_STORES)
#include <Arduino.h>
#include <string.h>

#include "tinyml_port.h"
#include "tinyml_store.h"

#if !defined(TINYML_STORE_RECORD_BYTES)
#define TINYML_STORE_RECORD_BYTES 1024u /* header + data, a whole number of flash pages */
#endif

static uint8_t record[TINYML_STORE_RECORD_BYTES];

/* Header and data into `record`; the number of bytes it takes, or 0 when it does not fit. */
static size_t pack(const uint8_t *data, uint16_t length)
{
    if (TM_STORE_HEADER_BYTES + (size_t)length > sizeof record) {
        return 0u;
    }
    tm_store_header(record, data, length);
    memcpy(record + TM_STORE_HEADER_BYTES, data, length);
    return TM_STORE_HEADER_BYTES + (size_t)length;
}

/* The data of the record in `record`, when it is `length` bytes and intact. */
static int unpack(uint8_t *data, uint16_t length)
{
    if (!tm_store_intact(record, record + TM_STORE_HEADER_BYTES, length)) {
        return -1;
    }
    memcpy(data, record + TM_STORE_HEADER_BYTES, length);
    return 0;
}

#if defined(ARDUINO_ARCH_ESP32)
#include <Preferences.h>

static const char NVS_NAMESPACE[] = "tinyml";
static const char NVS_KEY[] = "record";

extern "C" int port_store_load(uint8_t *data, uint16_t length)
{
    Preferences nvs;
    size_t size = TM_STORE_HEADER_BYTES + (size_t)length;
    int found = -1;
    if (size > sizeof record || !nvs.begin(NVS_NAMESPACE, true)) {
        return -1; /* no namespace: nothing was ever stored */
    }
    if (nvs.getBytesLength(NVS_KEY) == size && nvs.getBytes(NVS_KEY, record, size) == size) {
        found = unpack(data, length);
    }
    nvs.end();
    return found;
}

extern "C" void port_store_save(const uint8_t *data, uint16_t length)
{
    Preferences nvs;
    size_t size = pack(data, length);
    if (!nvs.begin(NVS_NAMESPACE, false)) {
        return;
    }
    if (length == 0u || size == 0u) {
        nvs.remove(NVS_KEY);
    } else {
        nvs.putBytes(NVS_KEY, record, size);
    }
    nvs.end();
}

#elif defined(ARDUINO_ARCH_MBED)
#include <FlashIAP.h>

/* The last sector, when the sketch ends before it and a record's pages fit `record`; else 0. */
static uint32_t store_sector(mbed::FlashIAP &flash, uint32_t *sector_bytes)
{
    uint32_t end = flash.get_flash_start() + flash.get_flash_size();
    uint32_t page = flash.get_page_size();
    *sector_bytes = flash.get_sector_size(end - 1u);
    uint32_t sector = end - *sector_bytes;
    if (page == 0u || page > sizeof record || sizeof record % page != 0u || *sector_bytes < sizeof record) {
        return 0u;
    }
#if defined(FLASHIAP_APP_ROM_END_ADDR)
    if ((uint32_t)FLASHIAP_APP_ROM_END_ADDR > sector) {
        return 0u;
    }
#endif
    return sector;
}

extern "C" int port_store_load(uint8_t *data, uint16_t length)
{
    mbed::FlashIAP flash;
    uint32_t sector_bytes;
    int found = -1;
    if (TM_STORE_HEADER_BYTES + (size_t)length > sizeof record || flash.init() != 0) {
        return -1;
    }
    uint32_t sector = store_sector(flash, &sector_bytes);
    if (sector != 0u && flash.read(record, sector, TM_STORE_HEADER_BYTES + (uint32_t)length) == 0) {
        found = unpack(data, length);
    }
    flash.deinit();
    return found;
}

/* Whether flash at `at` holds `size` bytes equal to `bytes`. */
static bool flash_holds(mbed::FlashIAP &flash, uint32_t at, const uint8_t *bytes, size_t size)
{
    uint8_t chunk[32];
    size_t done;
    for (done = 0u; done < size; done += sizeof chunk) {
        size_t n = size - done < sizeof chunk ? size - done : sizeof chunk;
        if (flash.read(chunk, at + (uint32_t)done, (uint32_t)n) != 0 || memcmp(chunk, bytes + done, n) != 0) {
            return false;
        }
    }
    return true;
}

extern "C" void port_store_save(const uint8_t *data, uint16_t length)
{
    static const uint8_t erased[2] = {0xFFu, 0xFFu}; /* a forgotten record's magic */
    mbed::FlashIAP flash;
    uint32_t sector_bytes;
    if (flash.init() != 0) {
        return;
    }
    uint32_t sector = store_sector(flash, &sector_bytes);
    size_t size = pack(data, length);
    /* Unchanged, or already forgotten: leave the sector alone. */
    if (sector != 0u && size != 0u && !flash_holds(flash, sector, length == 0u ? erased : record,
                                                   length == 0u ? sizeof erased : size)) {
        uint32_t page = flash.get_page_size();
        uint32_t pages = (uint32_t)((size + page - 1u) / page) * page;
        if (flash.erase(sector, sector_bytes) == 0 && length != 0u) {
            memset(record + size, 0xFF, pages - size); /* whole pages, padded as erased */
            flash.program(record, sector, pages);
        }
    }
    flash.deinit();
}

#else
#error "ports/arduino_flash knows ESP32 (Preferences) and the Mbed OS cores (FlashIAP): use ports/avr_eeprom on AVR, or leave TINYML_STORE out"
#endif

#endif /* TINYML_APP_STORES */
