"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright for Python.

Usage: dashboard_test.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD SCREENSHOT_FOLDER

Signs in as an operator, creates an agent and a session, watches its events arrive live, approves
the command the guard holds, and checks that a viewer gets no buttons. Screenshots go to the folder.
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
        page.get_by_label("Name").fill("web-agent")
        page.get_by_label("Driver").select_option("test.scripted")
        page.get_by_role("button", name="Create agent").click()
        expect(page.locator('tr[data-agent="web-agent"]')).to_be_visible()
        page.screenshot(path=os.path.join(SHOTS, "fleet.png"), full_page=True)

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
        approve.click()
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
        assert not problems, problems

        # A viewer sees the same session and the fleet, without a button that changes anything.
        viewer_context = browser.new_context(viewport={"width": 1366, "height": 800})
        page = viewer_context.new_page()
        sign_in(page, "viewer@example.com", "viewer-password")
        expect(page.locator('tr[data-agent="web-agent"]')).to_be_visible()
        expect(page.get_by_role("heading", name="New agent")).to_have_count(0)
        page.goto(session_url)
        expect(page.locator("main")).to_have_attribute("data-ready", "true")
        expect(page.locator("#events")).to_contain_text("state: done")
        expect(page.get_by_role("button")).to_have_count(1)  # only "Sign out"
        page.screenshot(path=os.path.join(SHOTS, "viewer-session.png"), full_page=True)
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
