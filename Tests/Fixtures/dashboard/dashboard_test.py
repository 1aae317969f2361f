"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright for Python.

Usage: dashboard_test.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD SCREENSHOT_FOLDER

Signs in as an operator, creates an agent and a session, watches its events arrive live, approves
the command the guard holds (from the keyboard), adds a provider account and checks its key (a
local stand-in refuses it), and checks that a viewer (signed in with the keyboard only) gets no buttons; text contrast is checked on the pages it passes. Screenshots go to the folder.
Exits non-zero, with a screenshot of where it stopped, when anything is not as expected.
"""
import json
import os
import re
import sys
import urllib.request

from playwright.sync_api import expect, sync_playwright

BASE, ADMIN, ADMIN_PASSWORD, SHOTS = sys.argv[1:5]
os.makedirs(SHOTS, exist_ok=True)
expect.set_options(timeout=30_000)


def call(path, body=None, token=None):
    request = urllib.request.Request(BASE + path, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"content-type": "application/json", **({"authorization": "Bearer " + token} if token else {})})
    with urllib.request.urlopen(request) as response:
        return json.load(response) if response.status != 204 else None


admin = call("/auth/login", {"email": ADMIN, "password": ADMIN_PASSWORD})["token"]
call("/api/users", {"email": "operator@example.com", "password": "operator-password", "role": "operator"}, admin)
call("/api/users", {"email": "viewer@example.com", "password": "viewer-password", "role": "viewer"}, admin)


def sign_in(page, email, password):
    page.goto(BASE + "/")
    expect(page).to_have_url(BASE + "/ui/login?next=%2Fui%2Ffleet")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(BASE + "/ui/fleet")
    expect(page.locator("main")).to_have_attribute("data-ready", "true")


def sign_in_by_keyboard(page, email, password):
    """Signs in without the mouse: Tab to the email field (its focus must show), type, Tab, type, Enter."""
    page.goto(BASE + "/")
    expect(page).to_have_url(BASE + "/ui/login?next=%2Fui%2Ffleet")
    expect(page.get_by_label("Email")).to_be_visible()
    # The page puts the cursor in the email field; start from nothing to walk the tab order.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.name") == "email":
            break
    else:
        raise AssertionError("Tab never reached the email field")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), "the focused field shows no outline: " + outline
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(BASE + "/ui/fleet")
    expect(page.locator("main")).to_have_attribute("data-ready", "true")


# Every visible element with text of its own, against the first opaque background behind it: the
# WCAG contrast ratio, which must be at least 4.5:1 for text of normal size.
LOW_CONTRAST = """() => {
  const parse = (text) => {
    const match = text.match(/rgba?\\(([^)]+)\\)/);
    if (!match) return null;
    const parts = match[1].split(',').map((part) => parseFloat(part));
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const channel = (value) => { value /= 255; return value <= 0.03928 ? value / 12.92 : Math.pow((value + 0.055) / 1.055, 2.4); };
  const luminance = (colour) => 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b);
  const background = (node) => {
    for (let at = node; at; at = at.parentElement) {
      const colour = parse(getComputedStyle(at).backgroundColor);
      if (colour && colour.a > 0) return colour;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const low = [];
  for (const node of document.querySelectorAll('body *')) {
    if (node.getClientRects().length === 0) continue;
    if (![...node.childNodes].some((child) => child.nodeType === 3 && child.textContent.trim())) continue;
    const colour = parse(getComputedStyle(node).color);
    if (!colour) { low.push(`${node.tagName}: unreadable colour ${getComputedStyle(node).color}`); continue; }
    const [light, dark] = [luminance(colour), luminance(background(node))].sort((a, b) => b - a);
    const ratio = (light + 0.05) / (dark + 0.05);
    if (ratio < 4.5) low.push(`${node.tagName}.${node.className} ${ratio.toFixed(2)}:1 "${node.textContent.trim().slice(0, 40)}"`);
  }
  return low;
}"""


def check_contrast(page, where):
    low = page.evaluate(LOW_CONTRAST)
    assert not low, where + ": text below 4.5:1 contrast: " + "; ".join(low)


with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=os.environ.get("FLYWHEEL_CHROMIUM", "/usr/bin/chromium"), args=["--no-sandbox"])
    page = None
    try:
        # The operator: an agent, a session, its events live, and the held command approved.
        context = browser.new_context(viewport={"width": 1366, "height": 800})
        page = context.new_page()
        problems = []
        # A socket cut short by leaving its page is not a problem of the page.
        page.on("console", lambda message: problems.append(message.text)
                if message.type == "error" and not message.text.startswith("WebSocket connection to") else None)
        response = page.goto(BASE + "/ui/login")
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'none'" in policy and "script-src 'self'" in policy, policy
        sign_in(page, "operator@example.com", "operator-password")
        expect(page.get_by_role("heading", name="New agent")).to_be_visible()
        # Page loads renew the sign-in each time: many of them stay well clear of the password limit.
        for _ in range(15):
            page.reload()
            expect(page.locator("main")).to_have_attribute("data-ready", "true")
        # A load whose renewal answer is lost on the way back: the server has used the cookie's
        # token, and the browser never got its successor. The next load is still signed in.
        # (Not route.fetch(): its answer's cookie would reach the browser's jar.)
        def lose_answer(route):
            cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies(BASE + "/ui/session/refresh"))
            renewal = urllib.request.Request(BASE + "/ui/session/refresh", data=b"", method="POST",
                                             headers={"X-Flywheel-Dashboard": "1", "Cookie": cookie})
            with urllib.request.urlopen(renewal) as answer:
                assert answer.status == 200, answer.status  # the server renews...
            route.abort()  # ...and the browser sees no answer and no new cookie
        before = len(problems)
        page.route("**/ui/session/refresh", lose_answer)
        page.reload()
        expect(page.locator("#status.error")).not_to_be_empty()
        page.unroute("**/ui/session/refresh")
        del problems[before:]  # the failed request the browser logged
        page.reload()
        expect(page.locator("main")).to_have_attribute("data-ready", "true")
        expect(page.get_by_role("heading", name="New agent")).to_be_visible()
        expect(page).to_have_url(BASE + "/ui/fleet")
        page.get_by_label("Name").fill("web-agent")
        page.get_by_label("Driver").select_option("test.scripted")
        page.get_by_role("button", name="Create agent").click()
        expect(page.locator('tr[data-agent="web-agent"]')).to_be_visible()
        page.screenshot(path=os.path.join(SHOTS, "fleet.png"), full_page=True)
        check_contrast(page, "fleet")
        # The check itself sees grey on white (2.8:1), so a pass above means something.
        page.evaluate("() => { const probe = document.createElement('p'); probe.id = 'probe'; probe.textContent = 'probe'; "
                      "probe.style.color = '#999'; probe.style.background = '#fff'; document.body.append(probe); }")
        assert any("probe" in line for line in page.evaluate(LOW_CONTRAST)), "the contrast check missed grey on white"
        page.evaluate("() => document.getElementById('probe').remove()")

        page.get_by_role("link", name="Sessions").click()
        page.wait_for_url(BASE + "/ui/sessions")
        expect(page.locator("main")).to_have_attribute("data-ready", "true")
        expect(page.locator("main")).to_have_attribute("data-live", "true")
        page.locator("select[name=agentId]").select_option(label="web-agent")
        page.get_by_label("Task").fill("command=git+stash+drop+||+echo+ran events=3 rate=20 checkpoint_every=1")
        page.get_by_role("button", name="Start session").click()
        page.wait_for_url("**/ui/sessions/*")
        session_url = page.url
        expect(page.locator('#events li[data-type="host.session.state"]').first).to_be_visible()
        approve = page.get_by_role("button", name="Approve")
        expect(approve).to_be_visible()
        expect(page.locator('#events li[data-type="host.command.decision"]')).to_contain_text("guard: ask git stash drop")
        page.screenshot(path=os.path.join(SHOTS, "session-held.png"), full_page=True)
        check_contrast(page, "session with a held command")
        # Approved from the keyboard: focus the button, press Enter.
        approve.press("Enter")
        expect(page.locator('#events li[data-type="host.command.approval"]')).to_contain_text("approved by operator@example.com")
        expect(page.locator("#events")).to_contain_text("state: done")
        expect(page.locator("main .state").first).to_have_text("done")
        expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
        # Checkpoints saved while the page was open are listed without a reload.
        checkpoints = page.locator("section", has=page.get_by_role("heading", name="Checkpoints"))
        expect(checkpoints.locator("tbody tr").first).to_be_visible()
        saved = len(page.locator('#events li[data-type="host.checkpoint"]').all())
        assert saved >= 1, saved
        expect(checkpoints.locator("tbody tr")).to_have_count(saved)
        seqs = [int(text) for text in page.locator("#events .seq").all_inner_texts()]
        assert seqs == list(range(1, len(seqs) + 1)), seqs
        page.screenshot(path=os.path.join(SHOTS, "session-done.png"), full_page=True)
        check_contrast(page, "finished session")
        session_id = session_url.rsplit("/", 1)[1]

        # The sessions list filtered by agent and state; the filters survive a reload.
        page.get_by_role("link", name="Sessions").click()
        expect(page.locator("main")).to_have_attribute("data-ready", "true")
        page.get_by_label("Filter by agent").select_option(label="web-agent")
        page.get_by_label("State").select_option("done")
        expect(page).to_have_url(re.compile(r"/ui/sessions\?state=done&agent="))
        expect(page.locator(f'tr[data-session="{session_id}"]')).to_be_visible()
        page.reload()
        expect(page.locator("main")).to_have_attribute("data-ready", "true")
        expect(page.get_by_label("State")).to_have_value("done")
        expect(page.locator(f'tr[data-session="{session_id}"]')).to_be_visible()
        page.get_by_label("State").select_option("failed")
        expect(page.locator("tr[data-session]")).to_have_count(0)
        expect(page.locator("main")).to_contain_text("No sessions match.")
        page.screenshot(path=os.path.join(SHOTS, "sessions-filtered.png"), full_page=True)

        # An account added from the Accounts page and checked with its provider (a local stand-in
        # that refuses the key): the account turns invalid with the provider's words, never the key.
        page.get_by_role("link", name="Accounts").click()
        expect(page.locator("main")).to_have_attribute("data-ready", "true")
        page.get_by_label("Provider").fill("local")
        page.get_by_label("Label").fill("team")
        page.get_by_label("Credentials (JSON, never shown again)").fill('{"api_key": "sk-browser-secret-42"}')
        page.get_by_role("button", name="Add account").click()
        row = page.locator("tr[data-account]", has_text="team")
        expect(row).to_contain_text("verified")
        page.get_by_role("button", name="Verify local/team with the provider").click()
        expect(page.locator("#status")).to_contain_text("local/team: invalid: the provider refused the key")
        expect(row).to_contain_text("invalid")
        assert "sk-browser-secret-42" not in page.content()
        page.screenshot(path=os.path.join(SHOTS, "accounts.png"), full_page=True)
        check_contrast(page, "accounts")
        assert not problems, problems

        # A viewer sees the same session and the fleet, without a button that changes anything.
        viewer_context = browser.new_context(viewport={"width": 1366, "height": 800})
        page = viewer_context.new_page()
        sign_in_by_keyboard(page, "viewer@example.com", "viewer-password")
        expect(page.locator('tr[data-agent="web-agent"]')).to_be_visible()
        expect(page.get_by_role("heading", name="New agent")).to_have_count(0)
        page.goto(session_url)
        expect(page.locator("main")).to_have_attribute("data-ready", "true")
        expect(page.locator("#events")).to_contain_text("state: done")
        expect(page.get_by_role("button")).to_have_count(1)  # only "Sign out"
        page.screenshot(path=os.path.join(SHOTS, "viewer-session.png"), full_page=True)
        page.goto(BASE + "/ui/accounts")
        expect(page.locator("main")).to_have_attribute("data-ready", "true")
        expect(page.locator("tr[data-account]", has_text="team")).to_contain_text("invalid")
        expect(page.get_by_role("button")).to_have_count(1)  # no Verify, Enable or Add for a viewer
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(BASE + "/ui/login")
        page.goto(BASE + "/ui/sessions")
        expect(page).to_have_url(BASE + "/ui/login?next=%2Fui%2Fsessions")
    except Exception:
        if page is not None:
            page.screenshot(path=os.path.join(SHOTS, "failure.png"), full_page=True)
        raise
    finally:
        browser.close()
print("dashboard: all checks passed")
