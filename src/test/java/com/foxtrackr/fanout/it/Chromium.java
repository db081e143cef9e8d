package com.foxtrackr.fanout.it;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;

import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * Debian's chromium, headless, driven through Debian's chromedriver (Selenium WebDriver): both binaries are
 * named, so nothing is downloaded. A new empty profile and no background networking, so that it never tries
 * to reach Google; it runs as root, hence no sandbox. Collects the page's console.
 */
final class Chromium implements AutoCloseable {
    final ChromeDriver driver;
    private final List<LogEntry> console = new ArrayList<>();

    Chromium() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(Services.binary("chromium", "chromium"));
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--user-data-dir=" + Services.tempDir("chromium-profile"));
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(Services.binary("chromedriver", "chromium-driver")))
                .usingAnyFreePort()
                .withLogFile(Services.tempDir("chromedriver").resolve("chromedriver.log").toFile())
                .build();
        driver = new ChromeDriver(service, options);
    }

    void open(String url) {
        driver.get(url);
    }

    /** The text shown by the first element the CSS selector finds, or null when there is none (yet); read in one step. */
    String text(String css) {
        return (String) driver.executeScript("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", css);
    }

    Object script(String javaScript, Object... arguments) {
        return driver.executeScript(javaScript, arguments);
    }

    /** Everything the page wrote to its console so far (console.*, uncaught errors, failed loads), as Chrome reports it. */
    List<LogEntry> console() {
        console.addAll(driver.manage().logs().get(LogType.BROWSER).getAll());
        return List.copyOf(console);
    }

    @Override
    public void close() {
        driver.quit();
    }
}
