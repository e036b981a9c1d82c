"""Voice over the campaign line: answering calls, call-in mode, bridged calls and call legs."""
