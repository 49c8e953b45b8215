#!/usr/bin/env ruby
# frozen_string_literal: true

# Habit: a `Net::HTTP` started for every request, kept, and never finished. Each one opens its
# own connection with a full TLS handshake and keeps it open: the program never closes one,
# and the Ruby VM closes them in its own teardown at exit. (Dropped instead of kept, the
# garbage collector closes some of them when it runs, before the program ends.)
# Usage: ruby_net_http_per_request.rb [N=50]   (URL in TLS_SESSION_COST_URL, CA in SSL_CERT_FILE)
require 'net/http'
require 'uri'

n = Integer(ARGV.fetch(0, '50'))
url = ENV.fetch('TLS_SESSION_COST_URL', nil)
abort 'ruby_net_http_per_request: TLS_SESSION_COST_URL is not set' if url.nil? || url.empty?
uri = URI(url)
kept = []
(1..n).each do |i|
  http = Net::HTTP.new(uri.host, uri.port)
  http.use_ssl = true
  begin
    http.start
    response = http.request(Net::HTTP::Get.new(uri))
  rescue StandardError => e
    abort "ruby_net_http_per_request: request #{i} failed: #{e.message}"
  end
  abort "ruby_net_http_per_request: request #{i}: HTTP #{response.code}" unless response.code == '200'
  kept << http
end
warn "ruby_net_http_per_request: #{n} requests ok"
