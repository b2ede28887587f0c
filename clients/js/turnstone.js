// placeholder: replaced by the JS client
