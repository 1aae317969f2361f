/* A minimal, valid driver, parameterised by macros so each fixture in this folder can break exactly
 * one thing. Define any of these before including:
 *   FIXTURE_ID, FIXTURE_MAJOR, FIXTURE_MINOR, FIXTURE_ENTRY_SIZE, FIXTURE_CREATE (function or NULL),
 *   FIXTURE_INIT_STATUS, FIXTURE_INIT_MESSAGE, FIXTURE_CAPABILITIES, FIXTURE_NULL_DESCRIPTOR,
 *   FIXTURE_NO_ENTRY (export no entry symbol at all). */
#include <flywheel/driver.h>
#include <stdlib.h>
#include <string.h>

#ifndef FIXTURE_ID
#define FIXTURE_ID "test.minimal"
#endif
#ifndef FIXTURE_MAJOR
#define FIXTURE_MAJOR FLYWHEEL_ABI_VERSION_MAJOR
#endif
#ifndef FIXTURE_MINOR
#define FIXTURE_MINOR FLYWHEEL_ABI_VERSION_MINOR
#endif
#ifndef FIXTURE_ENTRY_SIZE
#define FIXTURE_ENTRY_SIZE sizeof(flywheel_plugin_entry_t)
#endif
#ifndef FIXTURE_CREATE
#define FIXTURE_CREATE fixture_create
#endif
#ifndef FIXTURE_INIT_STATUS
#define FIXTURE_INIT_STATUS FLYWHEEL_OK
#endif
#ifndef FIXTURE_CAPABILITIES
#define FIXTURE_CAPABILITIES "{}"
#endif

static const flywheel_host_t *fixture_host;

/* Completes every run at once, from inside execute (allowed: emit is thread-safe). */
static flywheel_status_t fixture_execute(flywheel_driver_t *driver, const flywheel_run_host_t *run,
                                         const char *task, size_t length) {
    (void)driver;
    (void)task;
    (void)length;
    static const char done[] = "{\"type\":\"completed\",\"summary\":\"nothing to do\"}";
    run->emit(run, done, sizeof done - 1);
    return FLYWHEEL_OK;
}

static flywheel_status_t fixture_cancel(flywheel_driver_t *driver, uint64_t run_id) {
    (void)driver;
    (void)run_id;
    return FLYWHEEL_ERR_NOT_FOUND; /* every run has already ended */
}

static void fixture_destroy(flywheel_driver_t *driver) { free(driver); }

__attribute__((unused)) static flywheel_status_t fixture_create(const flywheel_host_t *host, const char *config, size_t length,
                                        flywheel_driver_t **out) {
    (void)host;
    (void)config;
    (void)length;
    flywheel_driver_t *driver = calloc(1, sizeof *driver);
    if (!driver) return FLYWHEEL_ERR_OUT_OF_MEMORY;
    *driver = (flywheel_driver_t){sizeof(flywheel_driver_t), 0, NULL, fixture_execute, fixture_cancel,
                                  fixture_destroy, NULL};
    *out = driver;
    return FLYWHEEL_OK;
}

static flywheel_status_t fixture_init(const flywheel_host_t *host) {
    fixture_host = host;
#ifdef FIXTURE_INIT_MESSAGE
    host->set_error(host, FIXTURE_INIT_MESSAGE, strlen(FIXTURE_INIT_MESSAGE));
#endif
    return FIXTURE_INIT_STATUS;
}

static const flywheel_driver_descriptor_t fixture_descriptor = {
    sizeof(flywheel_driver_descriptor_t), 0, FIXTURE_ID, "Fixture", "1.0.0", "Flywheel tests",
    "A test fixture", FIXTURE_CAPABILITIES};

static const flywheel_driver_descriptor_t *fixture_get_descriptor(void) {
#ifdef FIXTURE_NULL_DESCRIPTOR
    return NULL;
#else
    return &fixture_descriptor;
#endif
}

static const flywheel_plugin_entry_t fixture_entry = {
    {FIXTURE_MAJOR, FIXTURE_MINOR, 0}, FIXTURE_ENTRY_SIZE, fixture_init, NULL, fixture_get_descriptor,
    FIXTURE_CREATE};

#ifndef FIXTURE_NO_ENTRY
FLYWHEEL_EXPORT const flywheel_plugin_entry_t *flywheel_plugin_entry(void) { return &fixture_entry; }
#else
/* Keep the entry referenced so the compiler does not warn that it is unused. */
FLYWHEEL_EXPORT const void *not_the_entry_symbol(void) { return &fixture_entry; }
#endif
