"""The record a board keeps through power-off (`TINYML_STORE`): the vibration app's calibration.

Each real store is a port: the Mega's EEPROM (ports/avr_eeprom), NVS on the ESP32 and the last
flash sector on the Mbed OS cores (Nano 33 BLE, Raspberry Pi Pico) (ports/arduino_flash). None of
those exists here: no board is plugged in, QEMU's mega2560 emulates no EEPROM, and the ESP32 and
Mbed cores are PlatformIO downloads. So the ports' own source is compiled for the host over
stand-ins of the calls they make (avr-libc's eeprom_*_block, ESP32 Preferences, Mbed's FlashIAP):
mocks, allowed here only because the real stores cannot exist on this machine. The flash stand-in
keeps NOR flash's rules and refuses what a chip would not do (programming bytes that are not
erased, writes that are not whole aligned pages, a partial sector erase), so the port's erase and
page logic is checked, not only its bytes.
"""

from __future__ import annotations

import subprocess

import pytest

from conftest import REPO

SRC = REPO / "firmware_templates" / "src"
PORTS = REPO / "firmware_templates" / "ports"

# One store, driven as the app drives it; each stand-in counts its writes (EEPROM block
# updates, NVS puts, flash sector erases) and can flip a stored bit.
STORE_MAIN = """#include <stdio.h>
#include <string.h>
#include "tinyml_port.h"
void stand_in_flip(unsigned offset);
long stand_in_writes(void);
int main(void)
{
    unsigned char out[100], in[100]; /* a calibration's size: 4 + 48 x 2 bytes */
    unsigned i;
    memset(out, 0, sizeof out);
    for (i = 0; i < sizeof in; ++i) in[i] = (unsigned char)(i * 7u);
    printf("%d", port_store_load(out, sizeof out));                    /* erased: none */
    port_store_save(in, sizeof in);
    printf(" %d", port_store_load(out, sizeof out));
    printf(" %d", memcmp(in, out, sizeof in) == 0);
    printf(" %d", port_store_load(out, 99));                           /* another length */
    stand_in_flip(6 + 42);                                             /* a flipped bit */
    printf(" %d", port_store_load(out, sizeof out));
    port_store_save(in, sizeof in);                                    /* stored again */
    printf(" %d w%ld", port_store_load(out, sizeof out), stand_in_writes());
    port_store_save(in, sizeof in);                                    /* unchanged */
    printf(" w%ld", stand_in_writes());
    in[99] ^= 0x80u;                                                   /* a new calibration */
    port_store_save(in, sizeof in);
    printf(" %d", port_store_load(out, sizeof out));
    printf(" %d", memcmp(in, out, sizeof in) == 0);
    port_store_save(in, 0);                                            /* forget it */
    printf(" %d w%ld", port_store_load(out, sizeof out), stand_in_writes());
    port_store_save(in, 0);                                            /* forgotten already */
    printf(" w%ld\\n", stand_in_writes());
    return 0;
}
"""

EEPROM_H = """/* avr-libc's EEPROM calls over 4 KB of bytes, erased to 0xFF as a new chip's are. */
#include <stddef.h>
#include <string.h>
extern unsigned char fake_eeprom[4096];
extern long eeprom_writes;
static inline void eeprom_read_block(void *dst, const void *src, size_t n)
{ memcpy(dst, fake_eeprom + (size_t)src, n); }
static inline void eeprom_update_block(const void *src, void *dst, size_t n)
{ memcpy(fake_eeprom + (size_t)dst, src, n); ++eeprom_writes; }
"""
EEPROM_C = """#include <string.h>
unsigned char fake_eeprom[4096];
long eeprom_writes;
static void __attribute__((constructor)) erased(void) { memset(fake_eeprom, 0xFF, sizeof fake_eeprom); }
void stand_in_flip(unsigned offset) { fake_eeprom[offset] ^= 1u; }
long stand_in_writes(void) { return eeprom_writes; }
"""

PREFERENCES_H = """/* The ESP32 core's Preferences over one in-memory NVS namespace. begin() read-only fails
 * until the namespace was once opened for writing, as nvs_open() does. */
#include <stddef.h>
#include <string.h>
#include <string>
#include <map>
#include <vector>
extern std::map<std::string, std::vector<unsigned char>> nvs;
extern bool nvs_namespace_made;
extern long nvs_writes;
class Preferences {
public:
    bool begin(const char *name, bool read_only = false, const char *partition = NULL)
    {
        (void)partition;
        if (strlen(name) > 15) return false;
        if (read_only && !nvs_namespace_made) return false;
        nvs_namespace_made = true;
        open_ = true;
        read_only_ = read_only;
        return true;
    }
    void end() { open_ = false; }
    bool remove(const char *key) { return open_ && !read_only_ && nvs.erase(key) == 1; }
    size_t putBytes(const char *key, const void *value, size_t length)
    {
        if (!open_ || read_only_ || strlen(key) > 15) return 0;
        const unsigned char *bytes = static_cast<const unsigned char *>(value);
        nvs[key] = std::vector<unsigned char>(bytes, bytes + length);
        ++nvs_writes;
        return length;
    }
    size_t getBytesLength(const char *key) { return open_ && nvs.count(key) ? nvs[key].size() : 0; }
    size_t getBytes(const char *key, void *buffer, size_t max_length)
    {
        if (!open_ || !nvs.count(key) || nvs[key].size() > max_length) return 0;
        memcpy(buffer, nvs[key].data(), nvs[key].size());
        return nvs[key].size();
    }
private:
    bool open_ = false, read_only_ = false;
};
"""
PREFERENCES_C = """#include <Preferences.h>
std::map<std::string, std::vector<unsigned char>> nvs;
bool nvs_namespace_made;
long nvs_writes;
extern "C" void stand_in_flip(unsigned offset) { nvs["record"][offset] ^= 1u; }
extern "C" long stand_in_writes(void) { return nvs_writes; }
"""

FLASH_IAP_H = """/* Mbed's FlashIAP over 64 KB of NOR flash at FLASH_START, in 4 KB sectors and PAGE-byte
 * program units, keeping flash's rules: erase whole aligned sectors to 0xFF, program only whole
 * aligned pages of erased bytes. Anything else aborts, as it would corrupt or hard-fault a chip. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define FLASH_START 0x10000000u
#define FLASH_BYTES 0x10000u
#define SECTOR 4096u
extern uint8_t fake_flash[FLASH_BYTES];
extern long flash_erases;
extern uint32_t sketch_end;
#define FLASHIAP_APP_ROM_END_ADDR (sketch_end)
namespace mbed {
class FlashIAP {
public:
    int init() { if (open_) abort(); open_ = true; return 0; }
    int deinit() { open_ = false; return 0; }
    int read(void *buffer, uint32_t addr, uint32_t size)
    {
        check(addr, size, 1u);
        memcpy(buffer, fake_flash + (addr - FLASH_START), size);
        return 0;
    }
    int program(const void *buffer, uint32_t addr, uint32_t size)
    {
        uint32_t i;
        check(addr, size, PAGE);
        for (i = 0; i < size; ++i) {
            if (fake_flash[addr - FLASH_START + i] != 0xFFu) fail("program over bytes not erased");
        }
        memcpy(fake_flash + (addr - FLASH_START), buffer, size);
        return 0;
    }
    int erase(uint32_t addr, uint32_t size)
    {
        check(addr, size, SECTOR);
        memset(fake_flash + (addr - FLASH_START), 0xFF, size);
        ++flash_erases;
        return 0;
    }
    uint32_t get_sector_size(uint32_t addr) const { return addr - FLASH_START < FLASH_BYTES ? SECTOR : 0u; }
    uint32_t get_flash_start() const { return FLASH_START; }
    uint32_t get_flash_size() const { return FLASH_BYTES; }
    uint32_t get_page_size() const { return PAGE; }
private:
    void check(uint32_t addr, uint32_t size, uint32_t unit) const
    {
        if (!open_) fail("not initialised");
        if (addr < FLASH_START || addr - FLASH_START + size > FLASH_BYTES) fail("outside flash");
        if ((addr - FLASH_START) % unit || size % unit) fail("not whole aligned units");
    }
    static void fail(const char *what) { printf("flash: %s\\n", what); exit(3); }
    bool open_ = false;
};
}
"""
FLASH_IAP_C = """#include <FlashIAP.h>
uint8_t fake_flash[FLASH_BYTES];
long flash_erases;
uint32_t sketch_end = SKETCH_END;
static void __attribute__((constructor)) erased(void) { memset(fake_flash, 0xFF, sizeof fake_flash); }
extern "C" void stand_in_flip(unsigned offset) { fake_flash[FLASH_BYTES - SECTOR + offset] ^= 1u; }
extern "C" long stand_in_writes(void) { return flash_erases; }
"""


def run_store(tmp_path, port_source, stand_ins: dict[str, str], stand_in_c: str, defines=(), cxx=False) -> str:
    """Builds the port with its stand-ins and STORE_MAIN for the host (warnings are errors) and
    returns what it prints."""
    for name, text in stand_ins.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "main.c").write_text(STORE_MAIN)
    (tmp_path / ("stand_in.cpp" if cxx else "stand_in.c")).write_text(stand_in_c)
    (tmp_path / "tinyml_config.h").write_text("/* the app's and board's macros come as -D here */\n")
    flags = ["-Wall", "-Wextra", "-Werror", "-DTINYML_STORE", "-DTINYML_APP_STORES", *[f"-D{d}" for d in defines],
             "-I", str(tmp_path), "-I", str(SRC)]
    objects = []
    for source, compiler, std in [(SRC / "tinyml_link.c", "gcc", "-std=c99"), (SRC / "tinyml_store.c", "gcc", "-std=c99"),
                                  (tmp_path / "main.c", "gcc", "-std=c99"),
                                  (port_source, "g++" if cxx else "gcc", "-std=gnu++11" if cxx else "-std=c99"),
                                  (tmp_path / ("stand_in.cpp" if cxx else "stand_in.c"), "g++" if cxx else "gcc",
                                   "-std=gnu++11" if cxx else "-std=c99")]:
        obj = tmp_path / (source.name + ".o")
        subprocess.run([compiler, std, *flags, "-c", str(source), "-o", str(obj)], check=True, timeout=60)
        objects.append(str(obj))
    exe = tmp_path / "store"
    subprocess.run(["g++" if cxx else "gcc", *objects, "-o", str(exe)], check=True, timeout=60)
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=10).stdout


def test_the_mega_keeps_its_record_in_eeprom(tmp_path):
    """ports/avr_eeprom: one checked record; eeprom_update_block() itself skips unchanged bytes,
    so every save calls it (two blocks: data, header)."""
    out = run_store(tmp_path, PORTS / "avr_eeprom" / "port_avr_eeprom.c", {"avr/eeprom.h": EEPROM_H}, EEPROM_C)
    assert out == "-1 0 1 -1 -1 0 w4 w6 0 1 -1 w10 w12\n"


def test_the_esp32_keeps_its_record_in_nvs(tmp_path):
    """ports/arduino_flash on the ESP32 core: one NVS blob, removed when forgotten."""
    stand_ins = {"Arduino.h": "", "Preferences.h": PREFERENCES_H}
    out = run_store(tmp_path, PORTS / "arduino_flash" / "port_arduino_flash.cpp", stand_ins, PREFERENCES_C,
                    defines=["ARDUINO_ARCH_ESP32"], cxx=True)
    assert out == "-1 0 1 -1 -1 0 w2 w3 0 1 -1 w4 w4\n"


@pytest.mark.parametrize("page", [4, 256])  # the nRF52840's word, the RP2040's page
def test_mbed_boards_keep_their_record_in_the_last_flash_sector(tmp_path, page):
    """ports/arduino_flash on the Mbed OS cores: the last sector, erased only when the record
    changes or is forgotten (a sector wears by erases), programmed in whole pages."""
    stand_ins = {"Arduino.h": "", "FlashIAP.h": FLASH_IAP_H.replace("PAGE", str(page))}
    out = run_store(tmp_path, PORTS / "arduino_flash" / "port_arduino_flash.cpp", stand_ins,
                    FLASH_IAP_C.replace("SKETCH_END", "0x10008000u"), defines=["ARDUINO_ARCH_MBED"], cxx=True)
    assert out == "-1 0 1 -1 -1 0 w2 w2 0 1 -1 w4 w4\n"


def test_a_sketch_that_reaches_the_last_sector_keeps_nothing_there(tmp_path):
    """A sketch as large as the flash has no store: the port never erases its own code."""
    stand_ins = {"Arduino.h": "", "FlashIAP.h": FLASH_IAP_H.replace("PAGE", "256")}
    out = run_store(tmp_path, PORTS / "arduino_flash" / "port_arduino_flash.cpp", stand_ins,
                    FLASH_IAP_C.replace("SKETCH_END", "0x1000F100u"), defines=["ARDUINO_ARCH_MBED"], cxx=True)
    assert out == "-1 -1 0 -1 -1 -1 w0 w0 -1 0 -1 w0 w0\n"


def test_the_flash_port_names_the_cores_it_knows(tmp_path):
    """Any other core is a compile error that says which port to use instead; an app that
    keeps no record (kws) compiles none of it, so the store cannot break its build."""
    (tmp_path / "Arduino.h").write_text("")
    (tmp_path / "tinyml_config.h").write_text("")

    def build(*defines):
        return subprocess.run(["g++", "-std=gnu++11", "-Wall", "-Wextra", "-Werror", "-DTINYML_STORE",
                               *defines, "-I", str(tmp_path), "-I", str(SRC), "-c",
                               str(PORTS / "arduino_flash" / "port_arduino_flash.cpp"), "-o", str(tmp_path / "x.o")],
                              capture_output=True, text=True, timeout=60)

    done = build("-DTINYML_APP_STORES")
    assert done.returncode != 0
    assert "ports/arduino_flash knows ESP32 (Preferences) and the Mbed OS cores (FlashIAP)" in done.stderr
    done = build()
    assert done.returncode == 0, done.stderr
    symbols = subprocess.run(["nm", str(tmp_path / "x.o")], capture_output=True, text=True, timeout=60).stdout
    assert "port_store" not in symbols
