/// <reference lib="dom" />
/**
 * A minimal MCP Apps host page for the browser test, built on the extension's AppBridge: it puts the
 * view in the double-iframe sandbox (outer proxy on another origin), sends it the tool input and result,
 * and forwards its tools/call requests to the real MCP client in the test process (window.mcpCallTool,
 * installed with Playwright's exposeFunction).
 */
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";
import type { CallToolRequest, CallToolResult } from "@modelcontextprotocol/client";

export interface HostStart {
  html: string;
  sandboxUrl: string;
  toolInput: Record<string, unknown>;
  toolResult: CallToolResult;
  width: number;
}

declare global {
  interface Window {
    mcpCallTool: (params: CallToolRequest["params"]) => Promise<CallToolResult>;
    startHost: (options: HostStart) => Promise<void>;
    hostEvents: string[];
    modelContext: unknown[];
  }
}

window.hostEvents = [];
window.modelContext = [];

window.startHost = async ({ html, sandboxUrl, toolInput, toolResult, width }) => {
  const iframe = document.createElement("iframe");
  iframe.id = "app-frame";
  iframe.title = "Mask editor";
  // The outer frame (the sandbox proxy) needs scripts and its own origin to host the view.
  iframe.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms");
  iframe.style.cssText = `width:${width}px;height:600px;border:0;display:block`;
  iframe.src = sandboxUrl;
  document.body.append(iframe);

  const bridge = new AppBridge(
    null,
    { name: "flux-fill-test-host", version: "1.0.0" },
    { serverTools: {}, logging: {}, updateModelContext: { text: {} } },
    {
      hostContext: {
        theme: "light",
        displayMode: "inline",
        platform: "web",
        containerDimensions: { width, maxHeight: 4000 },
      },
    },
  );
  bridge.oncalltool = async (params) => {
    window.hostEvents.push(`tools/call ${params.name}`);
    return window.mcpCallTool(params);
  };
  bridge.onupdatemodelcontext = async (params) => {
    window.modelContext.push(params);
    return {};
  };
  bridge.onsizechange = ({ height }) => {
    if (height !== undefined) iframe.style.height = `${Math.ceil(height)}px`;
  };
  bridge.onsandboxready = () => {
    window.hostEvents.push("sandbox-ready");
    void bridge.sendSandboxResourceReady({ html, sandbox: "allow-scripts allow-same-origin allow-forms" });
  };
  bridge.oninitialized = () => {
    window.hostEvents.push("initialized");
    void bridge.sendToolInput({ arguments: toolInput }).then(() => bridge.sendToolResult(toolResult));
  };
  await bridge.connect(new PostMessageTransport(iframe.contentWindow!, iframe.contentWindow!));
};
