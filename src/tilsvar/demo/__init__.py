"""The demo: a fictional organisation, multilingual traffic, and the runner behind `tilsvar demo`."""
