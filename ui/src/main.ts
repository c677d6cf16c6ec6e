import "./styles.css";
import { applyTheme, loadPrefs } from "./prefs";
import { inDesktopApp, installWebTransport, pairFromAddress, webToken } from "./transport";

async function start() {
  if (!inDesktopApp()) {
    await pairFromAddress();
    installWebTransport(webToken);
  }
  const prefs = await loadPrefs();
  applyTheme(prefs.theme);
  await import("./app");
}

start();
