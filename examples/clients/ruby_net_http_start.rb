#!/usr/bin/env ruby
# frozen_string_literal: true

# Habit: `Net::HTTP.start(host, port, use_ssl: true) { |http| http.get(path) }` for every
# request. The block form finishes the session when the block ends, so every request opens a
# new connection with a full handshake and closes it.
# Usage: ruby_net_http_start.rb [N=50]   (URL in TLS_SESSION_COST_URL, CA in SSL_CERT_FILE,
# which OpenSSL's default verify paths read)
require 'net/http'
require 'uri'

name = 'ruby_net_http_start'
n = Integer(ARGV.fetch(0, '50'))
url = ENV.fetch('TLS_SESSION_COST_URL', '')
abort "#{name}: TLS_SESSION_COST_URL is not set" if url.empty?
uri = URI(url)
(1..n).each do |i|
  response = begin
    Net::HTTP.start(uri.host, uri.port, use_ssl: true) { |http| http.get(uri.request_uri) }
  rescue StandardError => e
    abort "#{name}: request #{i} failed: #{e.message}"
  end
  abort "#{name}: request #{i}: HTTP #{response.code}" unless response.code == '200'
end
warn "#{name}: #{n} requests ok"
